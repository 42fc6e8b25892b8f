"""Wiring of teacher-student distillation: teacher loading, recorders, adapters, head terms, checks."""
from .compatibility import check_same_anchors, check_same_box_coder, check_same_roi_classes
from .diagnostics import DistillationProbe, diagnostic_warnings, format_measurement, format_summary, summarize
from .head_distillation import rcn_distillation_losses, rpn_distillation_losses, select_class_deltas
from .hint_adapter import HintAdapter, align_centres, align_spatial, image_mask
from .receptive_field import Geometry, feature_geometry, rescale_geometry
from .recorders import MethodCallRecorder, ModuleOutputRecorder, get_submodule
from .student_view import rescale_batch
from .teacher import build_teacher, load_teacher_model_config

__all__ = [
    'build_teacher', 'load_teacher_model_config', 'HintAdapter', 'align_spatial', 'align_centres',
    'image_mask', 'Geometry', 'feature_geometry', 'rescale_geometry',
    'MethodCallRecorder', 'ModuleOutputRecorder', 'get_submodule', 'rpn_distillation_losses',
    'rcn_distillation_losses', 'select_class_deltas', 'check_same_anchors', 'check_same_box_coder',
    'check_same_roi_classes', 'rescale_batch', 'DistillationProbe', 'diagnostic_warnings',
    'format_measurement', 'format_summary', 'summarize'
]
