"""Strict checkpoint loading with errors that name the file, the model and the keys."""
import os
import os.path as osp
import pickle
from typing import Any, Mapping

import torch

from mmengine.runner.checkpoint import CheckpointLoader
from torch import nn


def read_checkpoint_file(path: str, what: str = 'checkpoint') -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU, with errors that name the file.

    A missing, empty, truncated or non-checkpoint file otherwise ends in a bare ``EOFError`` or a zip error
    that names nothing; a refused (malicious) pickle keeps its ``UnpicklingError`` type.

    Raises:
        FileNotFoundError: No such file.
        pickle.UnpicklingError: The file holds objects outside the ``weights_only`` allowlist.
        ValueError: The file is empty or is not a PyTorch checkpoint (the original error is chained).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what}: file {path!r} not found (working directory {os.getcwd()!r})')
    if osp.getsize(path) == 0:
        raise ValueError(f'{what} {path!r} is empty (0 bytes): an interrupted save or copy?')
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as error:
        raise pickle.UnpicklingError(f'{what} {path!r} was refused: {error}') from error
    except Exception as error:  # EOFError, zip errors, IndexError of a text file parsed as a pickle...
        raise ValueError(f'{what} {path!r} is not a readable PyTorch checkpoint (truncated, or another '
                         f'kind of file): {type(error).__name__}: {error}') from error


def load_checkpoint_strictly(model: nn.Module, checkpoint: str, what: str = 'checkpoint') -> dict:
    """Loads ``checkpoint`` into ``model``; every key and every shape must match.

    A local file is read with :func:`read_checkpoint_file`, a URI (``torchvision://``, ``https://``...)
    through MMEngine's ``CheckpointLoader``, both with ``torch.load(weights_only=True)``; a ``module.``
    prefix (DDP) is dropped.

    Args:
        model (nn.Module): The model to fill.
        checkpoint (str): A local path or any URI ``CheckpointLoader`` understands.
        what (str): How errors name the checkpoint, e.g. ``'teacher.checkpoint'`` or
            ``"checkpoint of config 'x.py'"``. Defaults to 'checkpoint'.

    Returns:
        dict: The checkpoint's ``meta`` (MMEngine's runner records ``dataset_meta`` there), ``{}`` if none.

    Raises:
        FileNotFoundError: If a local file does not exist.
        ValueError: If keys are missing or unexpected or shapes differ; names the file and up to eight keys
            of each kind, and suggests ``tools/export_student.py`` for a distillation checkpoint.
    """
    if '://' in checkpoint:
        loaded = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    else:
        loaded = read_checkpoint_file(checkpoint, what)
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
        hint = (' (a checkpoint saved by a distillation run holds `distill_terms.*`: export the '
                'student with tools/export_student.py first)' if any(
                    k.startswith(('distill_terms.', 'distill_adapters.')) for k in unexpected) else '')
        raise ValueError(f'{what} {checkpoint!r} does not match the model: {details}{hint}')
    model.load_state_dict(state_dict, strict=True)
    meta = loaded.get('meta') if isinstance(loaded, dict) and 'state_dict' in loaded else None
    return meta if isinstance(meta, dict) else {}


def check_finite_weights(state_dict: Mapping[str, torch.Tensor], what: str) -> None:
    """Raises if a floating-point tensor of ``state_dict`` holds NaN or infinite values.

    A teacher with NaN weights gives NaN soft targets and hints: the student turns NaN within an epoch and
    the run still ends with exit code 0.

    Args:
        state_dict (Mapping[str, Tensor]): The weights, e.g. ``model.state_dict()`` after loading.
        what (str): How the error names them, e.g. ``"teacher.checkpoint 'teacher.pth'"``.

    Raises:
        ValueError: Names up to eight offending tensors, with their count of non-finite values.
    """
    bad = [f'{key} ({int((~torch.isfinite(value)).sum())} of {value.numel()})'
           for key, value in state_dict.items()
           if torch.is_tensor(value) and value.is_floating_point() and not bool(torch.isfinite(value).all())]
    if bad:
        raise ValueError(f'{what} has non-finite (NaN or inf) values in {len(bad)} tensor(s): {bad[:8]}'
                         f'{" ..." if len(bad) > 8 else ""}')
