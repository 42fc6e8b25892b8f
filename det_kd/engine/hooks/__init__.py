"""Hooks registered in MMDetection's ``HOOKS`` registry."""
from .distillation_schedule_hook import DistillationScheduleHook, distillation_scale
from .teacher_evaluation_hook import TeacherEvaluationHook

__all__ = ['DistillationScheduleHook', 'TeacherEvaluationHook', 'distillation_scale']
