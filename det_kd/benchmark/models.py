"""Detectors built from config files for benchmarking: configs, CPU fallbacks and strict checkpoints."""
import os
import os.path as osp
from typing import Any, Optional

from mmengine.config import Config, ConfigDict
from torch import nn

from mmdet.registry import MODELS

from det_kd.utils.checkpoint import load_checkpoint_strictly


def load_config(path: str, cfg_options: Optional[dict] = None) -> Config:
    """Reads a config file and applies ``--cfg-options`` style overrides.

    Args:
        path (str): Config file path.
        cfg_options (dict, optional): ``{'dotted.key': value}`` overrides, as MMEngine's ``DictAction``
            parses them. Defaults to None.

    Returns:
        Config: The merged config.

    Raises:
        FileNotFoundError: If ``path`` is not a file (names the path and the working directory).
        KeyError: If the config defines no ``model``.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path!r} not found (working directory {os.getcwd()!r})')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise KeyError(f'config {path!r} defines no `model`')
    return cfg


def config_name(path: str) -> str:
    """The name a result row gets: the config file name without ``.py``."""
    return osp.splitext(osp.basename(path))[0]


def _walk_dicts(node: Any):
    """Yields every dict inside nested dicts and lists, ``node`` included (parents before children)."""
    if isinstance(node, dict):
        yield node
        children = node.values()
    elif isinstance(node, (list, tuple)):
        children = node
    else:
        return
    for child in children:
        yield from _walk_dicts(child)


def replace_roi_pool(model_cfg: ConfigDict) -> int:
    """Replaces every ``RoIPool`` layer in a model config by ``RoIAlign`` in max mode, in place.

    mmcv's ``RoIPool`` has no CPU kernel. ``RoIAlign(pool_mode='max', aligned=False, sampling_ratio=0)``
    with the same output size is the closest CPU op (it is what the thin synthetic configs use).

    Args:
        model_cfg (ConfigDict): A model config (modified in place).

    Returns:
        int: How many layers were replaced.
    """
    replaced = 0
    for node in _walk_dicts(model_cfg):
        layer = node.get('roi_layer')
        if isinstance(layer, dict) and layer.get('type') == 'RoIPool':
            node['roi_layer'] = ConfigDict(
                type='RoIAlign',
                output_size=layer['output_size'],
                sampling_ratio=0,
                pool_mode='max',
                aligned=False)
            replaced += 1
    return replaced


def drop_pretrained_init(model_cfg: ConfigDict) -> int:
    """Removes every ``init_cfg=dict(type='Pretrained', ...)`` from a model config, in place.

    Used for randomly initialised models whose ``init_weights()`` would otherwise download weights
    (speed does not depend on the weights).

    Args:
        model_cfg (ConfigDict): A model config (modified in place).

    Returns:
        int: How many ``init_cfg`` entries were removed.
    """
    dropped = 0
    for node in _walk_dicts(model_cfg):
        init_cfg = node.get('init_cfg')
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            node['init_cfg'] = None
            dropped += 1
    return dropped


def build_detector(model_cfg: ConfigDict,
                   checkpoint: Optional[str] = None,
                   device: str = 'cpu',
                   config: str = '') -> nn.Module:
    """Builds a detector in eval mode on ``device``, with weights from ``checkpoint`` if given.

    Without a checkpoint the weights are the modules' default initialisation (``init_weights()`` is not
    called, so nothing is downloaded).

    Args:
        model_cfg (ConfigDict): The ``model`` config.
        checkpoint (str, optional): Weights to load strictly. Defaults to None.
        device (str): Target device. Defaults to 'cpu'.
        config (str): The config file, named in errors. Defaults to ''.

    Returns:
        nn.Module: The detector.
    """
    model = MODELS.build(model_cfg)
    if checkpoint:
        load_checkpoint_strictly(model, checkpoint, f'checkpoint of config {config!r}')
    return model.to(device).eval()
