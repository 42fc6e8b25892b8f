"""The end-to-end demo: teacher, baseline student and distilled student on generated data."""
from .results import METRICS, mean_std, metric_percent, results_table, seeds_summary
from .schedule import schedule_options
from .stages import StageError, latest_test_metrics, run_tool, training_progress
from .train_test import evaluate_checkpoint, train_and_test

__all__ = [
    'METRICS', 'mean_std', 'metric_percent', 'results_table', 'seeds_summary', 'StageError', 'latest_test_metrics',
    'run_tool', 'schedule_options', 'training_progress', 'evaluate_checkpoint', 'train_and_test'
]
