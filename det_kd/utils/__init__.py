"""Utilities shared by det_kd's tools and modules."""
from .mmdet_tools import mmdet_tool_path, run_mmdet_tool
from .safe_globals import (history_buffer_method, mmengine_checkpoint_safe_globals,
                           register_mmengine_safe_globals)

__all__ = [
    'history_buffer_method', 'mmdet_tool_path', 'mmengine_checkpoint_safe_globals',
    'register_mmengine_safe_globals', 'run_mmdet_tool'
]
