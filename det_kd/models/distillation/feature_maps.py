"""The feature maps the terms compare, read from a detector: an int index into ``extract_feat``'s outputs or
a module path (recorded by a forward hook while ``extract_feat`` runs)."""
from typing import Dict, List, Optional, Tuple, Union

import torch
from torch import Tensor, nn

from .recorders import ModuleOutputRecorder, get_submodule

HintLayer = Union[int, str]


def unique_layers(layers: List[HintLayer]) -> List[HintLayer]:
    """``layers`` without repeats, in first-seen order."""
    return list(dict.fromkeys(layers))


def layer_users(terms, owner: str) -> Dict[HintLayer, str]:
    """``{layer: "term 'at' (AttentionTransferTerm), attention-transfer pair 0 (student 0 -> teacher 3)"}``: the
    pairs of ``terms`` that read each of ``owner``'s (``'student'`` / ``'teacher'``) layers, so that a bad
    layer's error names them."""
    users: Dict[HintLayer, List[str]] = {}
    for term in terms:
        for index, pair in enumerate(getattr(term, 'pairs', [])):
            label = term.pair_name(index) if hasattr(term, 'pair_name') else f'pair {index}'
            name = getattr(term, 'name', type(term).__name__)
            users.setdefault(pair[owner], []).append(f'term {name!r} ({type(term).__name__}), {label}')
    return {layer: '; '.join(names) for layer, names in users.items()}


def _layer(layer: HintLayer, owner: str, users: Optional[Dict[HintLayer, str]]) -> str:
    user = (users or {}).get(layer)
    return f'{owner} layer {layer!r}' + (f' (read by {user})' if user else '')


def select_map(layer: HintLayer, feats: tuple, recorded: dict, owner: str,
               users: Optional[Dict[HintLayer, str]] = None) -> Tensor:
    """The map of ``layer`` from ``extract_feat``'s outputs ``feats`` or the ``recorded`` module outputs.

    Raises:
        IndexError: An int index outside ``feats`` (names ``owner`` and the terms of ``users`` that read it).
        TypeError: A module whose output is not a tensor.
    """
    if isinstance(layer, int):
        if not -len(feats) <= layer < len(feats):
            raise IndexError(f'{_layer(layer, owner, users)}: extract_feat returns {len(feats)} map(s), so an '
                             f'int layer must be in [{-len(feats)}, {len(feats) - 1}]')
        return feats[layer]
    output = recorded[layer]
    if not isinstance(output, Tensor):
        raise TypeError(f'{_layer(layer, owner, users)} outputs a {type(output).__name__}, not a feature map; '
                        'name a deeper module or use an int index into extract_feat outputs')
    return output


def extract_maps(model: nn.Module, layers: List[HintLayer], image: Tensor, owner: str,
                 users: Optional[Dict[HintLayer, str]] = None) -> Tuple[tuple, List[Tensor]]:
    """``model.extract_feat(image)`` and the maps of ``layers`` it computed on the way (``users``: the terms
    that read each layer, named by the errors)."""
    paths = [layer for layer in layers if isinstance(layer, str)]
    for path in paths if users else []:  # at build time (the probe): a missing module names its terms
        try:
            get_submodule(model, path, owner)
        except KeyError as error:
            if path not in users:
                raise
            raise KeyError(f'{error.args[0]} (read by {users[path]})') from error
    with ModuleOutputRecorder(model, paths, owner) as recorder:
        feats = model.extract_feat(image)
    return feats, [select_map(layer, feats, recorder.outputs, owner, users) for layer in layers]


def probe_maps(model: nn.Module, layers: List[HintLayer], image: Tensor, owner: str,
               users: Optional[Dict[HintLayer, str]] = None) -> List[Tensor]:
    """The maps of ``layers`` on ``image`` in eval mode without gradient (to read channel counts); the model's
    mode is restored."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return extract_maps(model, layers, image, owner, users)[1]
    finally:
        model.train(was_training)
