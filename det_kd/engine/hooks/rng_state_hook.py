"""Keeps the random number generators' states in checkpoints, so that a resumed run loses nothing."""
import random
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_dist_info
from mmengine.hooks import Hook
from mmdet.registry import HOOKS

#: Checkpoint key holding one state per rank (see :func:`capture_rng_state`).
RNG_STATE_KEY = 'rng_state'

RNGState = Dict[str, Any]


def capture_rng_state() -> RNGState:
    """This process's python, numpy, torch CPU and current-CUDA-device random states.

    Every value is a plain Python value or a ``uint8`` tensor, so checkpoints holding it load with
    ``torch.load(weights_only=True)`` without any allowlist entry.

    Returns:
        dict: ``python`` (``random.getstate()``: a tuple of ints), ``numpy`` (``np.random``'s MT19937
        state as a dict with its 624-word ``key`` as a list of ints), ``torch`` (a ``uint8`` tensor) and
        ``cuda`` (the current device's ``uint8`` state tensor, or None when CUDA is not initialised).
    """
    numpy_state = np.random.get_state(legacy=False)
    cuda_initialized = torch.cuda.is_available() and torch.cuda.is_initialized()
    return dict(
        python=random.getstate(),
        numpy=dict(
            bit_generator=str(numpy_state['bit_generator']),
            state=dict(key=numpy_state['state']['key'].tolist(), pos=int(numpy_state['state']['pos'])),
            has_gauss=int(numpy_state['has_gauss']),
            gauss=float(numpy_state['gauss'])),
        torch=torch.get_rng_state(),
        cuda=torch.cuda.get_rng_state() if cuda_initialized else None)


def restore_rng_state(state: RNGState) -> None:
    """Sets this process's random states to ``state``, as returned by :func:`capture_rng_state`.

    Args:
        state (dict): The states to restore. ``cuda`` is restored on the current device when CUDA is
            available and ignored otherwise.
    """
    version, internal, gauss_next = state['python']
    random.setstate((version, tuple(internal), gauss_next))
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    if state.get('cuda') is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state(state['cuda'])


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Saves every rank's random states with each epoch checkpoint and restores them on ``--resume``.

    MMEngine checkpoints hold the weights, the optimizer, the schedulers and the iteration, but not the
    random generators, so after a resume the RPN / RoI samplers and the random flips draw other numbers
    than the uninterrupted run would have. With this hook, an epoch-based run resumed from an epoch
    checkpoint ends with exactly the weights of the uninterrupted run (same seed and number of processes,
    ``num_workers=0`` or ``persistent_workers=False``, deterministic kernels as on the CPU). It:

    - gathers every rank's states (:func:`capture_rng_state`) at the end of each training epoch, just
      before :class:`~mmengine.hooks.CheckpointHook` (priority ``VERY_LOW``) saves, and stores them under
      ``checkpoint['rng_state']`` (a list indexed by rank). A checkpoint saved at another time (every N
      iterations) carries the states of a single-process run only;
    - on resume, restores each rank's states when the resumed epoch begins (after ``before_train``
      hooks, and after MMEngine re-seeds when the configured seed differs from the checkpoint's). States
      saved by a different number of processes are not restored (a warning says so);
    - leaves the training streams untouched by validation during training (states are put back after
      each validation), so results do not depend on ``val_interval`` and a resumed run need not replay
      the validation that followed its checkpoint.

    Iteration-based loops are restored too, but MMEngine replays their data pipeline to skip the batches
    already trained, so their data augmentation differs after a resume.
    """

    priority = 'LOW'

    def __init__(self) -> None:
        self._epoch_states: Optional[Tuple[int, List[RNGState]]] = None
        self._resume_states: Optional[Tuple[int, Optional[List[RNGState]]]] = None
        self._val_state: Optional[RNGState] = None

    def after_train_epoch(self, runner) -> None:
        """Gathers all ranks' states for the checkpoint saved at the end of this epoch."""
        self._epoch_states = (runner.iter, all_gather_object(capture_rng_state()))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Stores the states gathered at this epoch's end (or, in one process, the current ones)."""
        if self._epoch_states is not None and self._epoch_states[0] == runner.iter:
            checkpoint[RNG_STATE_KEY] = self._epoch_states[1]
        elif runner.world_size == 1:
            checkpoint[RNG_STATE_KEY] = [capture_rng_state()]

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keeps the checkpoint's states until training resumes (not when only loading weights)."""
        self._resume_states = (checkpoint.get('meta', {}).get('iter', 0), checkpoint.get(RNG_STATE_KEY))

    def before_train_epoch(self, runner) -> None:
        """Restores this rank's saved states when the first epoch of a resumed run begins."""
        if self._resume_states is None:
            return
        saved_iter, states = self._resume_states
        self._resume_states = None
        if runner.iter == 0 or saved_iter != runner.iter:
            return  # weights loaded with `load_from`: a new run, nothing to resume
        rank, world_size = get_dist_info()
        if states is None:
            runner.logger.warning('RNGStateHook: the resumed checkpoint holds no random states; the run '
                                  'goes on with other random numbers than an uninterrupted run would')
        elif len(states) != world_size:
            runner.logger.warning(f'RNGStateHook: the checkpoint holds the random states of {len(states)} '
                                  f'processes, this run has {world_size}; they are not restored')
        else:
            restore_rng_state(states[rank])
            runner.logger.info('RNGStateHook: restored the python, numpy and torch random states')

    def before_val(self, runner) -> None:
        """Remembers the random streams before validation."""
        self._val_state = capture_rng_state()

    def after_val(self, runner) -> None:
        """Puts the random streams back as they were before validation."""
        if self._val_state is not None:
            restore_rng_state(self._val_state)
            self._val_state = None
