"""Schedules the weight of every distillation term over training (warm-up, decay, early stop)."""
import math
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmdet.registry import HOOKS

from det_kd.models.distillation.training_set import check_training_set
from det_kd.utils.settings import check_number


def distillation_scale(iteration: int,
                       total_iters: int,
                       warmup_iters: int = 0,
                       decay: str = 'constant',
                       stop_iter: Optional[int] = None,
                       min_scale: float = 0.0) -> float:
    """Multiplier of the distillation terms at a 0-based training ``iteration``.

    Linear warm-up from ``1 / warmup_iters`` to 1 over the first ``warmup_iters`` iterations, then
    ``'constant'`` (1), ``'linear'`` or ``'cosine'`` decay to ``min_scale`` at the end of distillation
    (``stop_iter`` if given, else ``total_iters``), and 0 from ``stop_iter`` on (early-stopped KD, Cho &
    Hariharan 2019: the student then trains on its own losses only).

    Args:
        iteration (int): The runner's 0-based iteration.
        total_iters (int): Training length in iterations.
        warmup_iters (int): Warm-up length. Defaults to 0.
        decay (str): ``'constant'``, ``'linear'`` or ``'cosine'``. Defaults to 'constant'.
        stop_iter (int, optional): First iteration without distillation. Defaults to None.
        min_scale (float): Scale reached at the end of the decay. Defaults to 0.0.

    Returns:
        float: The scale in ``[0, 1]``.
    """
    if stop_iter is not None and iteration >= stop_iter:
        return 0.0
    if warmup_iters > 0 and iteration < warmup_iters:
        return (iteration + 1) / warmup_iters
    if decay == 'constant':
        return 1.0
    end = stop_iter if stop_iter is not None else total_iters
    span = max(end - warmup_iters, 1)
    progress = min(max((iteration - warmup_iters) / span, 0.0), 1.0)
    if decay == 'linear':
        return 1.0 - (1.0 - min_scale) * progress
    if decay == 'cosine':
        return min_scale + (1.0 - min_scale) * 0.5 * (1.0 + math.cos(math.pi * progress))
    raise ValueError(f"decay must be 'constant', 'linear' or 'cosine', got {decay!r}")


@HOOKS.register_module()
class DistillationScheduleHook(Hook):
    """Sets ``model.distill_scale`` before every training iteration from the runner's iteration.

    The scale is a pure function of the iteration (see :func:`distillation_scale`), so a resumed run
    continues with the same weights. It is logged as ``distill_scale``. Before training it runs the start-up
    checks of the model against the training set (:func:`~det_kd.models.distillation.training_set.
    check_training_set`: the teacher's class names, a results file's images).

    Args:
        warmup_iters (int): Warm-up length in iterations. Defaults to 0.
        decay (str): ``'constant'``, ``'linear'`` or ``'cosine'``. Defaults to 'constant'.
        stop_iter (int, optional): Stop distilling at this iteration. Defaults to None.
        stop_epoch (int, optional): Stop distilling after this many epochs (converted with the
            train dataloader's length). Defaults to None.
        stop_fraction (float, optional): Stop distilling after this fraction of the training's iterations,
            rounded to the nearest iteration (early-stopped distillation as one config line:
            ``dict(type='DistillationScheduleHook', stop_fraction=0.25)``; in ``(0, 1]``). Defaults to None.
        min_scale (float): End value of the decay. Defaults to 0.0.

    At most one of ``stop_iter``, ``stop_epoch`` and ``stop_fraction``.
    """

    priority = 'NORMAL'

    def __init__(self,
                 warmup_iters: int = 0,
                 decay: str = 'constant',
                 stop_iter: Optional[int] = None,
                 stop_epoch: Optional[int] = None,
                 stop_fraction: Optional[float] = None,
                 min_scale: float = 0.0) -> None:
        stops = [name for name, value in (('stop_iter', stop_iter), ('stop_epoch', stop_epoch),
                                          ('stop_fraction', stop_fraction)) if value is not None]
        if len(stops) > 1:
            raise ValueError(f'DistillationScheduleHook: give one of stop_iter, stop_epoch and stop_fraction, not '
                             f'both {" and ".join(stops)}')
        distillation_scale(0, 1, decay=decay)  # validates `decay` at build time
        self.warmup_iters = check_number(warmup_iters, 'DistillationScheduleHook.warmup_iters', 0, integer=True)
        self.decay = decay
        self.stop_iter = (None if stop_iter is None else
                          check_number(stop_iter, 'DistillationScheduleHook.stop_iter', 0, integer=True))
        self.stop_epoch = (None if stop_epoch is None else
                           check_number(stop_epoch, 'DistillationScheduleHook.stop_epoch', 0, integer=True))
        self.stop_fraction = (None if stop_fraction is None else check_number(
            stop_fraction, 'DistillationScheduleHook.stop_fraction', 0.0, 1.0, low_open=True))
        # A scale above 1 would turn the hard losses' weight 1 - (1 - mu) * scale negative.
        self.min_scale = check_number(min_scale, 'DistillationScheduleHook.min_scale', 0.0, 1.0)

    def before_train(self, runner) -> None:
        if self.stop_epoch is not None:
            self.stop_iter = self.stop_epoch * len(runner.train_dataloader)
        if self.stop_fraction is not None:
            self.stop_iter = round(self.stop_fraction * runner.max_iters)
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'distill_scale'):
            raise TypeError(f'DistillationScheduleHook needs a distillation detector (KDFasterRCNN), '
                            f'got {type(model).__name__}')
        # The teacher's class names and results file against the training set (once; FiniteLossHook runs it too).
        check_training_set(model, getattr(runner.train_dataloader, 'dataset', None))

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        model.distill_scale = distillation_scale(runner.iter, runner.max_iters, self.warmup_iters, self.decay,
                                                 self.stop_iter, self.min_scale)
        runner.message_hub.update_scalar('train/distill_scale', model.distill_scale)
