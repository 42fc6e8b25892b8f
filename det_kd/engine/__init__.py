"""Training-time machinery: hooks and checkpoint export."""
from .hooks import DistillationScheduleHook, TeacherEvaluationHook, distillation_scale
from .student_export import export_student

__all__ = ['DistillationScheduleHook', 'TeacherEvaluationHook', 'distillation_scale', 'export_student']
