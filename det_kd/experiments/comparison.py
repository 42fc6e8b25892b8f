"""Named training setups ("arms") trained over the same seeds and compared in pairs: the machinery behind
experiments that are not one distillation config's columns (``benchmarks/beyond_one_teacher.py``: an ensemble
against each of its teachers, unlabeled images, a black-box teacher against the white-box one).

Every arm is a config trained with ``tools/train.py`` and tested with the plain student config, one run
directory per seed (``<work_dir>/<arm>/seed<seed>``, resumable as the demo's); a comparison pairs two arms by
seed (same data and seed) and reports the gain of the second over the first with its 95 % Student-t interval
over seeds and the paired bootstrap over the validation images per seed.
"""
import os
import os.path as osp
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from .gain import (BOOTSTRAP_METRIC, GAIN_METRICS, checked_bootstrap_by_seed, gain_summary,
                   per_seed_percent_values)
from .schedule import schedule_options
from .train_test import train_and_test


@dataclass
class Arm:
    """One training setup of a comparison.

    Args:
        name (str): Its name (the run directory under the work dir, and its label in tables).
        config (str): The config ``tools/train.py`` trains.
        test_config (str): The config its checkpoint is tested with (the plain student's, for a distillation
            config; the config itself for a plain model).
        data_dir (str): The folder the tools run in (holding the ``data/`` the config reads).
        options (list[str]): More ``--cfg-options`` (e.g. ``model.teacher.checkpoint=...``), after the schedule's.
        epochs (int, optional): Its epochs, if not the experiment's (e.g. a teacher trained longer).
        seeds (list[int], optional): Its seeds, if not the experiment's (e.g. one teacher for every seed).
        export (bool): Export the student of its distillation checkpoint and test that (``student.pth``: a
            checkpoint another arm can load as its teacher). Defaults to False.
    """
    name: str
    config: str
    test_config: str
    data_dir: str
    options: List[str] = field(default_factory=list)
    epochs: Optional[int] = None
    seeds: Optional[List[int]] = None
    export: bool = False

    def run_dir(self, work_dir: str, seed: int) -> str:
        return osp.abspath(osp.join(work_dir, self.name, f'seed{seed}'))


def run_arms(arms: Sequence[Arm], seeds: Sequence[int], work_dir: str, epochs: int, jobs: int = 1,
             resume: bool = False, progress: bool = True) -> Dict[str, Dict[int, dict]]:
    """Trains and tests every arm for every seed (or the arm's own seeds) with ``tools/demo.py``'s schedule of
    ``epochs`` epochs (or the arm's own), ``jobs`` runs at a time (each with ``OMP_NUM_THREADS`` = CPU cores / ``jobs`` when ``jobs`` >
    1).

    Returns:
        dict: ``{arm name: {seed: test metrics with 'predictions' and 'checkpoint'}}`` (see
        :func:`~det_kd.experiments.train_test.train_and_test`).

    Raises:
        StageError: A run failed (after the other runs finished), or a run directory holds another run.
    """
    env = dict(OMP_NUM_THREADS=str(max(1, (os.cpu_count() or 1) // jobs))) if jobs > 1 else None
    show = progress and jobs == 1  # concurrent bars would overwrite each other

    def run(arm: Arm, seed: int) -> dict:
        arm_epochs = arm.epochs or epochs
        metrics = train_and_test(f'{arm.name} (seed {seed})', arm.config, arm.test_config,
                                 arm.run_dir(work_dir, seed), arm.data_dir,
                                 [*schedule_options(arm_epochs, seed), *arm.options], arm_epochs, show,
                                 export=arm.export, env=env, resume=resume)
        if not show:
            print(f"[compare] {arm.name} (seed {seed}): VOC07 mAP@0.5 {100 * metrics['pascal_voc/mAP']:.1f} "
                  f"({metrics['stage']})", flush=True)
        return metrics

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {(arm.name, seed): pool.submit(run, arm, seed) for arm in arms for seed in arm.seeds or seeds}
    return {arm.name: {seed: futures[(arm.name, seed)].result() for seed in arm.seeds or seeds} for arm in arms}


def paired_comparison(test_config: str, reference: Dict[int, dict], other: Dict[int, dict],
                      bootstrap: int = 1000, metrics: Sequence[Tuple[str, str]] = GAIN_METRICS,
                      names: Tuple[str, str] = ('reference', 'other'),
                      teacher: Optional[Dict[str, float]] = None) -> dict:
    """The gain of ``other`` over ``reference`` (runs by seed, as :func:`run_arms` returns them), paired by
    seed: :func:`~det_kd.experiments.gain.gain_summary` of ``metrics`` with, when ``bootstrap`` > 0 and VOC07
    mAP@0.5 is among them, the paired bootstrap over ``test_config``'s test images per seed, whose recomputed
    mAPs are checked against the runs' own (``names`` label the two in that check's error)."""
    values = [per_seed_percent_values(runs, metrics) for runs in (reference, other)]
    num_samples = bootstrap if BOOTSTRAP_METRIC in values[0] else 0
    predictions = [{seed: run['predictions'] for seed, run in runs.items()} if num_samples else {}
                   for runs in (reference, other)]
    boot = checked_bootstrap_by_seed(test_config, *predictions, values[0].get(BOOTSTRAP_METRIC, {}),
                                     values[1].get(BOOTSTRAP_METRIC, {}), num_samples, names)
    return gain_summary(values[0], values[1], teacher=teacher, bootstrap=boot, metrics=metrics)
