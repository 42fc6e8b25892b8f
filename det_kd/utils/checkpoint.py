"""Strict checkpoint loading with errors that name the file, the model and the keys."""
import os
import os.path as osp

from mmengine.runner.checkpoint import CheckpointLoader
from torch import nn


def load_checkpoint_strictly(model: nn.Module, checkpoint: str, what: str = 'checkpoint') -> None:
    """Loads ``checkpoint`` into ``model``; every key and every shape must match.

    The file is read through MMEngine's ``CheckpointLoader`` (local paths and URIs such as
    ``torchvision://``), i.e. with ``torch.load(weights_only=True)``; a ``module.`` prefix (DDP) is dropped.

    Args:
        model (nn.Module): The model to fill.
        checkpoint (str): A local path or any URI ``CheckpointLoader`` understands.
        what (str): How errors name the checkpoint, e.g. ``'teacher.checkpoint'`` or
            ``"checkpoint of config 'x.py'"``. Defaults to 'checkpoint'.

    Raises:
        FileNotFoundError: If a local file does not exist.
        ValueError: If keys are missing or unexpected or shapes differ; names the file and up to eight keys
            of each kind, and suggests ``tools/export_student.py`` for a distillation checkpoint.
    """
    if '://' not in checkpoint and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'{what}: file {checkpoint!r} not found (working directory {os.getcwd()!r})')
    loaded = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    state_dict = loaded.get('state_dict', loaded) if isinstance(loaded, dict) else loaded
    if not isinstance(state_dict, dict):
        raise ValueError(f'{what} {checkpoint!r} holds no state dict')
    state_dict = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state_dict.items()}
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    mismatched = sorted(f'{k}: checkpoint {tuple(state_dict[k].shape)} vs model {tuple(v.shape)}'
                        for k, v in expected.items()
                        if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape))
    problems = [(name, keys) for name, keys in
                (('missing keys', missing), ('unexpected keys', unexpected), ('shape mismatches', mismatched))
                if keys]
    if problems:
        details = '; '.join(f'{len(keys)} {name}: {keys[:8]}{" ..." if len(keys) > 8 else ""}'
                            for name, keys in problems)
        hint = (' (a checkpoint saved by a distillation run holds `distill_adapters.*`: export the '
                'student with tools/export_student.py first)' if any(
                    k.startswith('distill_adapters.') for k in unexpected) else '')
        raise ValueError(f'{what} {checkpoint!r} does not match the model: {details}{hint}')
    model.load_state_dict(state_dict, strict=True)
