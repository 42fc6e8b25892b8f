"""The experiments behind the tools: the demo (``demo``), the ablation (``ablation``, its columns in
``ablation_columns``), the Tucker sweep of Table 3 (``tucker_sweep``; Table 2 is the demo with the resolution
configs) and the pieces they share: logged tool stages that resume (``stages``, ``train_test``), the schedule
(``schedule``), result tables (``results``), paired gains with intervals (``gain``), test-run predictions read
back in VOC07 terms (``predictions``) and latency (``latency``).
"""
from .results import METRICS, mean_std, metric_percent, results_table, seeds_summary
from .schedule import schedule_options
from .stages import StageError, latest_test_metrics, run_tool, training_progress
from .train_test import evaluate_checkpoint, train_and_test

__all__ = [
    'METRICS', 'mean_std', 'metric_percent', 'results_table', 'seeds_summary', 'StageError', 'latest_test_metrics',
    'run_tool', 'schedule_options', 'training_progress', 'evaluate_checkpoint', 'train_and_test'
]
