"""Building, loading and freezing the teacher detector(s)."""
import contextlib
import copy
import os
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Union

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
    path = config_path(config)
    cfg = Config.fromfile(path)
    if 'model' not in cfg:
        raise KeyError(f'teacher.config: {path!r} defines no `model`')
    return cfg.model


def config_path(config: str) -> str:
    """The file of a teacher config given as a path or a ``package::path``.

    Raises:
        FileNotFoundError: If the file does not exist (names the path that was tried).
    """
    path = config
    if '::' in config:
        package, relative = config.split('::', 1)
        path = osp.join(get_installed_path(package), '.mim', 'configs', relative)
    if not osp.isfile(path):
        raise FileNotFoundError(f'teacher.config: config file {config!r} not found (looked at '
                                f'{osp.abspath(path)!r}, working directory {os.getcwd()!r})')
    return path


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
        nn.Module: The teacher in eval mode with ``requires_grad=False`` everywhere; its ``dataset_meta`` is
        the checkpoint's ``meta.dataset_meta`` (the classes it was trained on), None if it records none.
    """
    if checkpoint is None and not allow_random_init:
        raise ValueError('teacher.checkpoint is required: a distillation teacher must be trained. Set '
                         'teacher.allow_random_init=True only for tests or smoke runs.')
    model_cfg = load_teacher_model_config(config)
    with torch.random.fork_rng(devices=[]):
        # A random teacher keeps PyTorch's default initialisation: its config's init_cfg may name
        # pretrained weights (torchvision://...) that a test or smoke run must not download.
        teacher = MODELS.build(model_cfg)
    teacher.dataset_meta = None
    if checkpoint is not None:
        meta = load_checkpoint_strictly(teacher, checkpoint, 'teacher.checkpoint')
        check_finite_weights(teacher.state_dict(), f'teacher.checkpoint {checkpoint!r}')
        teacher.dataset_meta = meta.get('dataset_meta') if isinstance(meta.get('dataset_meta'), dict) else None
    teacher.eval()
    teacher.requires_grad_(False)
    return teacher


#: The keys of one teacher's dict in ``KDFasterRCNN.teacher``.
TEACHER_KEYS = ('config', 'checkpoint', 'allow_random_init', 'input_scale', 'renormalize', 'weight', 'hints')


def teacher_specs(teacher: Union[dict, Sequence[dict]]) -> List[ConfigDict]:
    """``KDFasterRCNN.teacher`` as a list of teacher dicts: one dict, or a list of them (an ensemble).

    Each dict has a ``config`` and optionally ``checkpoint``, ``allow_random_init``, ``input_scale``,
    ``renormalize``, ``weight`` (default 1; the weights are normalised to sum to 1) and, for every teacher
    after the first, ``hints`` (its own feature pairs instead of ``distill.hints`` / the terms' pairs).

    Raises:
        TypeError: If ``teacher`` is neither a dict nor a non-empty list of dicts.
        KeyError: If a teacher has no ``config`` or an unknown key (names the teacher).
        ValueError: If the first teacher sets ``hints``.
    """
    several = isinstance(teacher, (list, tuple))
    entries = list(teacher) if several else [teacher]
    if not entries or not all(isinstance(entry, dict) for entry in entries):
        raise TypeError('KDFasterRCNN.teacher must be a teacher dict (config, checkpoint, ...) or a non-empty '
                        f'list of them, got {teacher!r}')
    specs = []
    for entry, name in zip(entries, teacher_names(entries, several)):
        spec = ConfigDict(copy.deepcopy(dict(entry)))
        unknown = set(spec) - set(TEACHER_KEYS)
        if unknown or 'config' not in spec:
            raise KeyError(f'{name} needs `config` (+ `checkpoint`); unknown keys: {sorted(unknown)} '
                           f'(known: {list(TEACHER_KEYS)})')
        specs.append(spec)
    if specs[0].get('hints') is not None:
        raise ValueError(f"{teacher_names(specs, several)[0]}.hints: the first teacher's pairs are distill.hints "
                         "(and each term's own pairs); `hints` is for the teachers after it")
    return specs


def teacher_names(specs: Sequence[dict], several: bool) -> List[str]:
    """How errors name each teacher: ``KDFasterRCNN.teacher`` alone, ``KDFasterRCNN.teacher[k]`` in a list."""
    if not several:
        return ['KDFasterRCNN.teacher']
    return [f'KDFasterRCNN.teacher[{index}]' for index in range(len(specs))]


@contextlib.contextmanager
def naming_errors(name: Optional[str]) -> Iterator[None]:
    """Re-raises a ``TypeError`` / ``ValueError`` / ``KeyError`` / ``FileNotFoundError`` prefixed with the
    teacher's name (nothing is added when ``name`` is None)."""
    try:
        yield
    except (TypeError, ValueError, KeyError, FileNotFoundError, RuntimeError) as error:
        if name is None:
            raise
        message = error.args[0] if len(error.args) == 1 and isinstance(error.args[0], str) else str(error)
        raise type(error)(f'{name}: {message}') from error


def single_teacher(model_cfg: dict, tool: str) -> ConfigDict:
    """The ``teacher`` dict of a distillation model config, for a tool that handles one teacher.

    Raises:
        ValueError: If ``model.teacher`` is a list of several teachers (names ``tool``).
    """
    teacher = model_cfg['teacher']
    if isinstance(teacher, (list, tuple)):
        if len(teacher) != 1:
            raise ValueError(f'{tool} handles one teacher; this config\'s model.teacher is an ensemble of '
                             f'{len(teacher)} (train it with tools/train.py, checkpoints as '
                             'model.teacher.<k>.checkpoint)')
        teacher = teacher[0]
    return teacher
