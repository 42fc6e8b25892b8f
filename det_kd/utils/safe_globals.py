"""Lets ``torch.load(weights_only=True)`` read the checkpoints that MMEngine writes.

torch >= 2.6 loads checkpoints with ``weights_only=True``: only tensors, containers and an allowlist of
globals may be unpickled, so that a checkpoint from a stranger cannot run code. MMEngine's checkpoints
also hold the runner's ``MessageHub`` (``HistoryBuffer`` objects with numpy arrays), numpy scalars and the
``HistoryBuffer`` statistics methods, which it pickles as ``getattr(HistoryBuffer, 'mean')``. Without an
allowlist, ``--resume`` fails with "Unsupported global".

We keep ``weights_only`` on and allow exactly what MMEngine writes:

- ``HistoryBuffer`` and the numpy reconstruction helpers for arrays, dtypes and scalars
  (under both the numpy 1.x ``numpy.core`` and numpy 2.x ``numpy._core`` module names);
- **not** ``builtins.getattr`` itself (which would let a pickle reach any attribute of any allowed
  object), but a restricted stand-in registered under that name that only resolves the statistics
  methods registered on ``HistoryBuffer``.
"""
from pickle import UnpicklingError
from typing import Any, Callable, List, Tuple, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

SafeGlobal = Union[Callable, Tuple[Callable, str]]

# Registered by every HistoryBuffer instance; custom ones are added with HistoryBuffer.register_statistics.
DEFAULT_HISTORY_BUFFER_STATISTICS = frozenset({'min', 'max', 'current', 'mean'})


def history_buffer_method(owner: Any, name: str) -> Callable:
    """Stand-in for ``getattr`` during ``weights_only`` unpickling.

    Args:
        owner (Any): The object whose attribute the pickle asks for.
        name (str): The attribute name.

    Returns:
        Callable: ``getattr(HistoryBuffer, name)`` when ``name`` is one of the statistics methods
        registered on :class:`HistoryBuffer` (``min``, ``max``, ``current``, ``mean`` and any custom one).

    Raises:
        UnpicklingError: For any other owner or name.
    """
    allowed = DEFAULT_HISTORY_BUFFER_STATISTICS.union(HistoryBuffer._statistics_methods)
    if owner is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise UnpicklingError(
        f'weights_only load refused getattr({owner!r}, {name!r}): det_kd only allows the '
        'HistoryBuffer statistics methods that MMEngine checkpoints contain.')


def _numpy_globals() -> List[SafeGlobal]:
    """Numpy globals that pickled arrays, dtypes and scalars refer to, under both module names."""
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray
    safe: List[SafeGlobal] = [np.ndarray, np.dtype]
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        safe.append((multiarray._reconstruct, f'{module}._reconstruct'))
        safe.append((multiarray.scalar, f'{module}.scalar'))
    # numpy >= 1.25 pickles some dtypes through their classes (numpy.dtypes.Float64DType, ...).
    dtype_classes = getattr(np, 'dtypes', None)
    if dtype_classes is not None:
        safe.extend(cls for cls in vars(dtype_classes).values()
                    if isinstance(cls, type) and issubclass(cls, np.dtype))
    return safe


def mmengine_checkpoint_safe_globals() -> List[SafeGlobal]:
    """The exact allowlist registered by :func:`register_mmengine_safe_globals`.

    Returns:
        list: Items in the format accepted by ``torch.serialization.add_safe_globals``.
    """
    return [HistoryBuffer, (history_buffer_method, 'builtins.getattr'), *_numpy_globals()]


def register_mmengine_safe_globals() -> None:
    """Registers :func:`mmengine_checkpoint_safe_globals` with ``torch.serialization``.

    Called when ``det_kd`` is imported (for instance through a config's ``custom_imports``), so that
    ``tools/train.py --resume`` works while ``weights_only`` stays on. Idempotent.
    """
    torch.serialization.add_safe_globals(mmengine_checkpoint_safe_globals())
