"""Measures, every N iterations, whether and how the distillation terms act on the student."""
import json
import logging
import os.path as osp
from typing import Any, Dict, List, Optional, Set

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmdet.registry import HOOKS

from det_kd.models.distillation.diagnostics import (WARNING_THRESHOLDS, DistillationProbe,
                                                    diagnostic_warnings, format_measurement, format_summary,
                                                    summarize)
from det_kd.utils.settings import check_number

#: Top-level key of the hook's history in a checkpoint (a resumed run keeps its earlier measurements).
CHECKPOINT_KEY = 'distillation_diagnostics'


@HOOKS.register_module()
class DistillationDiagnosticsHook(Hook):
    """Diagnostics of a distillation run: gradient share of each term, teacher vs student, gates, hint fit.

    At the first iteration of the run and every ``interval`` iterations it opens a
    :class:`~det_kd.models.distillation.DistillationProbe` on the (unwrapped) ``KDFasterRCNN`` for that
    step, so that ``loss()`` measures on the step's batch (see :mod:`det_kd.models.distillation.diagnostics`
    for the quantities) without changing its losses or gradients. Each measurement

    - goes into the message hub as ``diag/<name>`` scalars and to the visualizer (``scalars.json`` of the
      vis backends, TensorBoard...) at step ``iter + 1``; the training log line shows only ``train/*``
      scalars, so a one-line digest is logged instead,
    - is checked by :func:`~det_kd.models.distillation.diagnostic_warnings`; a warning is logged (level
      WARNING) when it fires and again only after it has cleared, every firing is kept,
    - is kept in the history, which a checkpoint carries (``checkpoint['distillation_diagnostics']``).

    After training the hook logs a summary table (last measurement and mean over measurements) and writes
    ``<work_dir>/distillation_diagnostics.json``: ``{'interval', 'measurements', 'summary', 'warnings'}``.
    Only the main process measures, on its own part of the batch (the gradients are its local ones, before
    DDP averages them; the measurement uses no collective and DDP's gradient hooks do not fire on
    ``torch.autograd.grad``); steps with distillation switched off (``distill_scale == 0``) record nothing.
    One batch is a noisy sample: read the trend, or the summary's means.

    Cost: one ``torch.autograd.grad`` through the student per term (hard + up to 5 distillation terms) on
    measured steps only; other steps pay a ``None`` check. Measured on CPU, 1 thread, batch of 2, median
    of interleaved plain / measured SGD steps (loss, backward, step; ``benchmarks/diagnostics_overhead.py``):
    the tests' tiny ResNet pair (96x128) 64-70 ms -> 135-166 ms, i.e. **1.1-1.4%** of the step time at
    ``interval=100``; the demo's VGG16-w0.25 -> AlexNet-w0.25 pair (192x256) 326 ms -> 562 ms, **0.7%**
    (target < 2%). The smaller the student's share of the step (a large teacher), the smaller the
    overhead.

    Args:
        interval (int): Measure every this many iterations (and at the run's first). Defaults to 100.
        min_share (float): Warn when a distillation term carries less than this share of the backbone's
            gradient. Defaults to 0.01.
        min_hint_fit (float): Warn when a hint fit is below this (after ``warmup_iters``). Defaults to 0.1.
        gate_low (float): Warn when a teacher-bounded gate rate is at or below this. Defaults to 0.02.
        gate_high (float): Warn when a gate rate is at or above this (after ``warmup_iters``).
            Defaults to 0.98.
        warmup_iters (int): Iterations before the learning-dependent warnings (hint fit, gate near 1).
            Defaults to 1000.
        min_samples (int): Positive anchors / RoIs a batch needs for the teacher-vs-student and gate
            warnings. Defaults to 10.
        out_file (str): File name in the work dir. Defaults to 'distillation_diagnostics.json'.
    """

    priority = 'LOW'

    def __init__(self,
                 interval: int = 100,
                 min_share: float = WARNING_THRESHOLDS['min_share'],
                 min_hint_fit: float = WARNING_THRESHOLDS['min_hint_fit'],
                 gate_low: float = WARNING_THRESHOLDS['gate_low'],
                 gate_high: float = WARNING_THRESHOLDS['gate_high'],
                 warmup_iters: int = WARNING_THRESHOLDS['warmup_iters'],
                 min_samples: int = WARNING_THRESHOLDS['min_samples'],
                 out_file: str = 'distillation_diagnostics.json') -> None:
        self.interval = check_number(interval, 'DistillationDiagnosticsHook.interval', 1, integer=True)
        self.thresholds = dict(min_share=min_share, min_hint_fit=min_hint_fit, gate_low=gate_low,
                               gate_high=gate_high, warmup_iters=warmup_iters, min_samples=min_samples)
        self.out_file = out_file
        self.measurements: List[Dict[str, float]] = []
        self.warnings: List[Dict[str, Any]] = []
        self._active_warnings: Set[str] = set()
        self._first_iter: Optional[int] = None
        self._probe: Optional[DistillationProbe] = None

    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def before_train(self, runner) -> None:
        model = self._model(runner)
        if not hasattr(model, 'diagnostics_probe'):
            raise TypeError(f'DistillationDiagnosticsHook needs a distillation detector (KDFasterRCNN), got '
                            f'{type(model).__name__}')
        self._first_iter = runner.iter
        # A resumed run continues the history its checkpoint carried; a run started from iteration 0
        # (e.g. ``load_from`` a distillation checkpoint) starts afresh.
        self.measurements = [m for m in self.measurements if m['iter'] <= runner.iter]
        self.warnings = [w for w in self.warnings if w['iter'] <= runner.iter]

    def should_measure(self, runner) -> bool:
        """At the run's first iteration and every ``interval`` iterations, on the main process."""
        first = runner.iter == self._first_iter
        return is_main_process() and (first or self.every_n_train_iters(runner, self.interval))

    def before_train_iter(self, runner, batch_idx: int, data_batch: Any = None) -> None:
        if self.should_measure(runner):
            self._probe = DistillationProbe(self._model(runner)).__enter__()

    def after_train_iter(self, runner, batch_idx: int, data_batch: Any = None, outputs: Any = None) -> None:
        if self._probe is None:
            return
        probe, self._probe = self._probe, None
        probe.__exit__(None, None, None)
        if probe.result is not None:
            self.record(runner, probe.result)

    def record(self, runner, result: Dict[str, float]) -> Dict[str, str]:
        """Keeps a measurement of the step ``runner.iter + 1``, logs it and its warnings.

        Measurements and warnings carry ``iter``, the 1-based step as in the training log and the
        visualizer's ``step``.

        Returns:
            dict: The warnings that fired, ``{key: message}``.
        """
        step = runner.iter + 1
        measurement = {'iter': step, 'distill_scale': float(self._model(runner).distill_scale),
                       **result}
        self.measurements.append(measurement)
        scalars = {f'diag/{key}': value for key, value in measurement.items() if key != 'iter'}
        for key, value in scalars.items():
            runner.message_hub.update_scalar(key, value)
        visualizer = getattr(runner, 'visualizer', None)
        if visualizer is not None:
            visualizer.add_scalars(scalars, step=step)
        print_log(f'distillation diagnostics (iter {step}): {format_measurement(result)}',
                  logger='current')
        fired = diagnostic_warnings(result, runner.iter, **self.thresholds)
        for key, message in fired.items():
            self.warnings.append({'iter': step, 'key': key, 'message': message})
            if key not in self._active_warnings:
                print_log(f'distillation diagnostics: {message}', logger='current', level=logging.WARNING)
        self._active_warnings = set(fired)
        return fired

    def summary(self) -> Dict[str, Dict[str, float]]:
        """Last value and mean over the measurements of every quantity (:func:`summarize`)."""
        return summarize(self.measurements)

    def after_train(self, runner) -> None:
        if not is_main_process():
            return
        summary = self.summary()
        count = len(self.measurements)
        print_log(f'distillation diagnostics over {count} measurement{"s" * (count != 1)}:\n' +
                  format_summary(summary), logger='current')
        if self._active_warnings:
            print_log('distillation diagnostics, active at the last measurement:\n' + '\n'.join(
                f'- {w["message"]}' for w in self.warnings if w['iter'] == self.measurements[-1]['iter']),
                      logger='current', level=logging.WARNING)
        path = osp.join(runner.work_dir, self.out_file)
        with open(path, 'w') as file:
            json.dump({'interval': self.interval, 'thresholds': self.thresholds,
                       'measurements': self.measurements, 'summary': summary, 'warnings': self.warnings},
                      file, indent=1)
        print_log(f'distillation diagnostics written to {path}', logger='current')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[CHECKPOINT_KEY] = {'measurements': self.measurements, 'warnings': self.warnings}

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        saved = checkpoint.get(CHECKPOINT_KEY)
        if saved:
            self.measurements = list(saved['measurements'])
            self.warnings = list(saved['warnings'])
