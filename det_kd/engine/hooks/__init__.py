"""Hooks registered in MMDetection's ``HOOKS`` registry."""
from .distillation_diagnostics_hook import DistillationDiagnosticsHook
from .distillation_schedule_hook import DistillationScheduleHook, distillation_scale
from .fitnets_stages_hook import FitNetsStagesHook
from .finite_loss_hook import FiniteLossHook, NonFiniteLossError
from .progress_bar_hook import ProgressBarHook
from .rng_state_hook import RNGStateHook
from .safe_checkpoint_hook import SafeCheckpointHook
from .teacher_evaluation_hook import TeacherEvaluationHook
from .training_data_check_hook import TrainingDataCheckHook

__all__ = [
    'DistillationDiagnosticsHook', 'DistillationScheduleHook', 'FiniteLossHook', 'FitNetsStagesHook',
    'NonFiniteLossError', 'ProgressBarHook', 'RNGStateHook', 'SafeCheckpointHook', 'TeacherEvaluationHook',
    'TrainingDataCheckHook', 'distillation_scale'
]
