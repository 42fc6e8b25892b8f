"""Turns a distillation checkpoint into a plain student checkpoint."""
import os
import os.path as osp
from typing import Optional

import torch

from det_kd.models.detectors import DISTILLATION_ONLY_PREFIXES
from det_kd.utils.checkpoint import read_checkpoint_file


def is_distillation_checkpoint(loaded: dict) -> bool:
    """Whether a checkpoint was saved by a ``KDFasterRCNN`` run: it holds adaptation layers, or the config
    MMEngine stores in its ``meta`` builds a ``KDFasterRCNN``."""
    state_dict = loaded.get('state_dict', loaded)
    if any(key.startswith(DISTILLATION_ONLY_PREFIXES) for key in state_dict):
        return True
    config = loaded.get('meta', {}).get('cfg', '')
    return isinstance(config, str) and 'KDFasterRCNN' in config


def export_student(checkpoint: str, out: Optional[str] = None, force: bool = False,
                   allow_plain: bool = False) -> dict:
    """Keeps only the student's weights of a checkpoint saved by a ``KDFasterRCNN`` run.

    The result loads strictly into the plain student config (the distillation config without its
    ``teacher`` / ``distill`` fields and with the student's own ``type``), e.g. with MMDetection's
    ``tools/test.py``. The teacher is never in a det_kd checkpoint; this drops the adaptation layers
    (:data:`DISTILLATION_ONLY_PREFIXES`), the optimizer and the runner's message hub.

    Args:
        checkpoint (str): Path of the training checkpoint (loaded with ``weights_only=True``).
        out (str, optional): Where to save the student checkpoint (written atomically). Defaults to None
            (not saved).
        force (bool): Replace an existing ``out``. Never allowed when ``out`` is ``checkpoint`` itself
            (the training checkpoint, needed by ``--resume``, would be lost). Defaults to False.
        allow_plain (bool): Accept a checkpoint that is not a distillation run's (e.g. a teacher's or a
            baseline's), which would otherwise be "exported" unchanged under a student's name. Defaults
            to False.

    Returns:
        dict: ``{'state_dict': ..., 'meta': {...}}``.

    Raises:
        FileExistsError: ``out`` exists (without ``force``) or is ``checkpoint``.
        ValueError: The file is not a readable checkpoint, or not a distillation one (without
            ``allow_plain``).
    """
    if out is not None:
        if osp.exists(checkpoint) and osp.exists(out) and osp.samefile(checkpoint, out):
            raise FileExistsError(f'export_student: --out {out!r} is the input checkpoint itself; writing there '
                                  'would replace the training checkpoint (and break --resume). Choose another '
                                  'path.')
        if osp.exists(out) and not force:
            raise FileExistsError(f'export_student: --out {out!r} already exists; pass --force to replace it')
    loaded = read_checkpoint_file(checkpoint, 'export_student: checkpoint')
    if not isinstance(loaded, dict):
        raise ValueError(f'export_student: {checkpoint!r} holds a {type(loaded).__name__}, not a checkpoint dict')
    if not is_distillation_checkpoint(loaded) and not allow_plain:
        raise ValueError(f'export_student: {checkpoint!r} is not a distillation checkpoint (no '
                         f'{DISTILLATION_ONLY_PREFIXES} weights and no KDFasterRCNN in its config): exporting '
                         'it would label a teacher or a plain model as a distilled student. Pass '
                         '--allow-plain to strip it anyway.')
    state_dict = loaded.get('state_dict', loaded)
    student = {k: v for k, v in state_dict.items() if not k.startswith(DISTILLATION_ONLY_PREFIXES)}
    meta = {k: v for k, v in loaded.get('meta', {}).items() if k in ('epoch', 'iter', 'seed', 'dataset_meta')}
    meta['exported_from'] = checkpoint
    exported = {'state_dict': student, 'meta': meta}
    if out is not None:
        partial = osp.join(osp.dirname(osp.abspath(out)), f'.{osp.basename(out)}.partial')
        torch.save(exported, partial)
        os.replace(partial, out)
    return exported
