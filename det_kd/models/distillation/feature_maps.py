"""The feature maps the terms compare, read from a detector: an int index into ``extract_feat``'s outputs or
a module path (recorded by a forward hook while ``extract_feat`` runs)."""
from typing import List, Tuple, Union

import torch
from torch import Tensor, nn

from .recorders import ModuleOutputRecorder

HintLayer = Union[int, str]


def unique_layers(layers: List[HintLayer]) -> List[HintLayer]:
    """``layers`` without repeats, in first-seen order."""
    return list(dict.fromkeys(layers))


def select_map(layer: HintLayer, feats: tuple, recorded: dict, owner: str) -> Tensor:
    """The map of ``layer`` from ``extract_feat``'s outputs ``feats`` or the ``recorded`` module outputs.

    Raises:
        IndexError: An int index outside ``feats`` (names ``owner``).
        TypeError: A module whose output is not a tensor.
    """
    if isinstance(layer, int):
        if not -len(feats) <= layer < len(feats):
            raise IndexError(f'{owner} hint layer {layer}: extract_feat returns {len(feats)} maps')
        return feats[layer]
    output = recorded[layer]
    if not isinstance(output, Tensor):
        raise TypeError(f'{owner} hint layer {layer!r} outputs a {type(output).__name__}, not a feature '
                        'map; name a deeper module or use an int index into extract_feat outputs')
    return output


def extract_maps(model: nn.Module, layers: List[HintLayer], image: Tensor, owner: str) -> Tuple[tuple, List[Tensor]]:
    """``model.extract_feat(image)`` and the maps of ``layers`` it computed on the way."""
    paths = [layer for layer in layers if isinstance(layer, str)]
    with ModuleOutputRecorder(model, paths, owner) as recorder:
        feats = model.extract_feat(image)
    return feats, [select_map(layer, feats, recorder.outputs, owner) for layer in layers]


def probe_maps(model: nn.Module, layers: List[HintLayer], image: Tensor, owner: str) -> List[Tensor]:
    """The maps of ``layers`` on ``image`` in eval mode without gradient (to read channel counts); the model's
    mode is restored."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            return extract_maps(model, layers, image, owner)[1]
    finally:
        model.train(was_training)
