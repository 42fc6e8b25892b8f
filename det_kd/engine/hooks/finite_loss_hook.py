"""Stops training at the first non-finite loss, before any checkpoint is written from that state."""
import math

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmdet.registry import HOOKS


class NonFiniteLossError(RuntimeError):
    """A training loss became NaN or infinite."""


def non_finite_terms(log_vars: dict) -> dict:
    """The ``loss*`` entries of a train step's log variables that are NaN or infinite, as floats."""
    bad = {}
    for key, value in (log_vars or {}).items():
        if not key.startswith('loss'):
            continue
        number = float(value.detach().float().mean()) if torch.is_tensor(value) else float(value)
        if not math.isfinite(number):
            bad[key] = number
    return bad


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Raises :class:`NonFiniteLossError` naming the terms and the iteration at the first NaN / inf loss.

    It runs right after the train step, before the logger and the checkpoint hook (priority
    ``VERY_HIGH``), so training stops in that iteration and no checkpoint is ever written from a
    non-finite state: the last checkpoint on disk is the last good one (``--resume`` continues from it
    once the cause is fixed). Under distributed training every rank stops when any rank sees a
    non-finite loss. The check costs one float conversion per loss term per iteration.
    """

    priority = 'VERY_HIGH'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        bad = non_finite_terms(outputs if isinstance(outputs, dict) else {})
        flag = torch.tensor([float(bool(bad))])
        all_reduce(flag)
        if not float(flag):
            return
        where = f'iteration {runner.iter + 1} (epoch {runner.epoch + 1})'
        terms = ', '.join(f'{key}={value}' for key, value in sorted(bad.items())) or 'on another rank'
        last = 'none yet'
        last_file = f'{runner.work_dir}/last_checkpoint'
        try:
            with open(last_file) as stream:
                last = stream.read().strip() or last
        except OSError:
            pass
        raise NonFiniteLossError(
            f'FiniteLossHook: non-finite loss at {where}: {terms}. Training stopped before any checkpoint '
            f'was written from this state; the last good checkpoint is {last}. Check the weights and '
            'temperatures of the distillation terms, the learning rate, and the teacher checkpoint.')
