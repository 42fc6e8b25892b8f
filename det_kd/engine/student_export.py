"""Turns a distillation checkpoint into a plain student checkpoint."""
from typing import Optional

import torch

from det_kd.models.detectors import DISTILLATION_ONLY_PREFIXES


def export_student(checkpoint: str, out: Optional[str] = None) -> dict:
    """Keeps only the student's weights of a checkpoint saved by a ``KDFasterRCNN`` run.

    The result loads strictly into the plain student config (the distillation config without its
    ``teacher`` / ``distill`` fields and with the student's own ``type``), e.g. with MMDetection's
    ``tools/test.py``. The teacher is never in a det_kd checkpoint; this drops the adaptation layers
    (:data:`DISTILLATION_ONLY_PREFIXES`), the optimizer and the runner's message hub.

    Args:
        checkpoint (str): Path of the training checkpoint (loaded with ``weights_only=True``).
        out (str, optional): Where to save the student checkpoint. Defaults to None (not saved).

    Returns:
        dict: ``{'state_dict': ..., 'meta': {...}}``.
    """
    loaded = torch.load(checkpoint, map_location='cpu', weights_only=True)
    state_dict = loaded.get('state_dict', loaded)
    student = {k: v for k, v in state_dict.items() if not k.startswith(DISTILLATION_ONLY_PREFIXES)}
    meta = {k: v for k, v in loaded.get('meta', {}).items() if k in ('epoch', 'iter', 'seed', 'dataset_meta')}
    meta['exported_from'] = checkpoint
    exported = {'state_dict': student, 'meta': meta}
    if out is not None:
        torch.save(exported, out)
    return exported
