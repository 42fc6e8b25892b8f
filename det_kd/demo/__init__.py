"""The end-to-end demo: teacher, baseline student and distilled student on generated data."""
from .results import METRICS, mean_std, results_table, seeds_summary
from .stages import StageError, latest_test_metrics, run_tool, training_progress

__all__ = [
    'METRICS', 'mean_std', 'results_table', 'seeds_summary', 'StageError', 'latest_test_metrics', 'run_tool',
    'training_progress'
]
