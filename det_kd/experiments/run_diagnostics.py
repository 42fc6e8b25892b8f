"""The ``distillation_diagnostics.json`` that ``DistillationDiagnosticsHook`` leaves in a distilled run's work
dir, read back for the reports (the demo's "why a method lost", the teacher grid's "what each teacher gives", the
ablation's gradient-share column): each quantity's mean over a run, averaged over runs."""
import json
import os.path as osp
from typing import Dict, Iterable

#: The file the hook writes into the run's work dir.
DIAGNOSTICS_FILE = 'distillation_diagnostics.json'


def mean_quantities(paths: Iterable[str]) -> Dict[str, float]:
    """``{quantity: mean over the runs of its mean over the run}`` from the diagnostics files at ``paths``
    (a quantity missing from some runs is averaged over the others); ``{}`` for no files. ``'runs'`` counts
    the files."""
    sums: Dict[str, float] = {}
    counts: Dict[str, int] = {}
    runs = 0
    for path in paths:
        with open(path) as f:
            summary = json.load(f)['summary']
        runs += 1
        for key, stats in summary.items():
            sums[key] = sums.get(key, 0.0) + float(stats['mean'])
            counts[key] = counts.get(key, 0) + 1
    means = {key: total / counts[key] for key, total in sums.items()}
    return dict(means, runs=runs) if runs else {}


def run_diagnostics_paths(run_dirs: Iterable[str]) -> list:
    """The diagnostics files of the ``run_dirs`` that have one."""
    return [path for path in (osp.join(folder, DIAGNOSTICS_FILE) for folder in run_dirs) if osp.isfile(path)]
