"""Building, loading and freezing the teacher detector."""
import os
import os.path as osp
from typing import Optional, Union

import torch
from mmengine.config import Config, ConfigDict
from mmengine.utils import get_installed_path
from torch import nn

from mmdet.registry import MODELS

from det_kd.utils.checkpoint import check_finite_weights, load_checkpoint_strictly

TeacherConfig = Union[str, dict, ConfigDict]


def load_teacher_model_config(config: TeacherConfig) -> ConfigDict:
    """Returns the teacher's ``model`` config from a path, a ``package::path`` or an inline dict.

    Args:
        config (str | dict): A config file path (absolute, or relative to the working directory), a
            package path such as ``'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'``, a full config
            dict with a ``model`` key, or the model dict itself (with a ``type`` key).

    Raises:
        FileNotFoundError: If the file does not exist (names the path that was tried).
        KeyError: If the config has no ``model``.
    """
    if isinstance(config, (dict, ConfigDict)):
        config = ConfigDict(config)
        if 'type' in config:
            return config
        if 'model' in config:
            return ConfigDict(config['model'])
        raise KeyError("teacher.config: an inline teacher config needs a 'model' key or a model 'type'")
    if not isinstance(config, str):
        raise TypeError(f'teacher.config must be a path or a dict, got {type(config).__name__}')
    path = config
    if '::' in config:
        package, relative = config.split('::', 1)
        path = osp.join(get_installed_path(package), '.mim', 'configs', relative)
    if not osp.isfile(path):
        raise FileNotFoundError(f'teacher.config: config file {config!r} not found (looked at '
                                f'{osp.abspath(path)!r}, working directory {os.getcwd()!r})')
    cfg = Config.fromfile(path)
    if 'model' not in cfg:
        raise KeyError(f'teacher.config: {path!r} defines no `model`')
    return cfg.model


def build_teacher(config: TeacherConfig,
                  checkpoint: Optional[str] = None,
                  allow_random_init: bool = False) -> nn.Module:
    """Builds the teacher detector, loads its checkpoint strictly and freezes it.

    The teacher is built and loaded inside ``torch.random.fork_rng`` so that its construction does not
    shift the global random stream (a distilled run and its baseline draw the same student
    initialisation and samples for the same seed). It is loaded once here and never re-initialised:
    callers keep it outside the module tree, so ``init_weights()`` of the student never reaches it.

    Args:
        config (str | dict): See :func:`load_teacher_model_config`.
        checkpoint (str, optional): Teacher weights, loaded strictly (:func:`load_checkpoint_strictly`);
            refused if any tensor is non-finite. Required unless ``allow_random_init``.
        allow_random_init (bool): Allow a randomly initialised teacher (tests, smoke runs only); it keeps
            PyTorch's default initialisation. Defaults to False.

    Returns:
        nn.Module: The teacher in eval mode with ``requires_grad=False`` everywhere.
    """
    if checkpoint is None and not allow_random_init:
        raise ValueError('teacher.checkpoint is required: a distillation teacher must be trained. Set '
                         'teacher.allow_random_init=True only for tests or smoke runs.')
    model_cfg = load_teacher_model_config(config)
    with torch.random.fork_rng(devices=[]):
        # A random teacher keeps PyTorch's default initialisation: its config's init_cfg may name
        # pretrained weights (torchvision://...) that a test or smoke run must not download.
        teacher = MODELS.build(model_cfg)
    if checkpoint is not None:
        load_checkpoint_strictly(teacher, checkpoint, 'teacher.checkpoint')
        check_finite_weights(teacher.state_dict(), f'teacher.checkpoint {checkpoint!r}')
    teacher.eval()
    teacher.requires_grad_(False)
    return teacher
