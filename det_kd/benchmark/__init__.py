"""Speed and cost measurements: latency, FLOPs, parameters and the training cost of distillation.

Used by ``tools/benchmark.py``, ``tools/benchmark_training.py`` and ``tools/plot_accuracy_cost.py``.
"""
