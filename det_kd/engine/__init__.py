"""Training-time machinery: hooks, a CPU-capable distributed runner and checkpoint export."""
from .cpu_distributed_runner import CPUDistributedRunner
from .hooks import (DistillationDiagnosticsHook, DistillationScheduleHook, FiniteLossHook, NonFiniteLossError,
                    ProgressBarHook, RNGStateHook, SafeCheckpointHook, TeacherEvaluationHook, distillation_scale)
from .student_export import export_student

__all__ = [
    'CPUDistributedRunner', 'DistillationDiagnosticsHook', 'DistillationScheduleHook', 'FiniteLossHook',
    'NonFiniteLossError', 'ProgressBarHook', 'RNGStateHook', 'SafeCheckpointHook', 'TeacherEvaluationHook',
    'distillation_scale', 'export_student'
]
