"""Hooks registered in MMDetection's ``HOOKS`` registry."""
from .distillation_schedule_hook import DistillationScheduleHook, distillation_scale
from .progress_bar_hook import ProgressBarHook
from .teacher_evaluation_hook import TeacherEvaluationHook

__all__ = ['DistillationScheduleHook', 'ProgressBarHook', 'TeacherEvaluationHook', 'distillation_scale']
