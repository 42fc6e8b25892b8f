"""Hooks registered in MMDetection's ``HOOKS`` registry."""
from .distillation_diagnostics_hook import DistillationDiagnosticsHook
from .distillation_schedule_hook import DistillationScheduleHook, distillation_scale
from .progress_bar_hook import ProgressBarHook
from .rng_state_hook import RNGStateHook
from .teacher_evaluation_hook import TeacherEvaluationHook

__all__ = [
    'DistillationDiagnosticsHook', 'DistillationScheduleHook', 'ProgressBarHook', 'RNGStateHook',
    'TeacherEvaluationHook', 'distillation_scale'
]
