'''Training-time machinery: hooks and checkpoint export.'''
from .hooks import DistillationScheduleHook, ProgressBarHook, TeacherEvaluationHook, distillation_scale
from .student_export import export_student

__all__ = [
    'DistillationScheduleHook', 'ProgressBarHook', 'TeacherEvaluationHook', 'distillation_scale', 'export_student'
]
