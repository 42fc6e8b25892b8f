"""One model's stage of a sweep: train a config, optionally export the student, test, return the metrics.

A stage keeps what it has done in its run directory, so a sweep killed half-way continues with
``resume=True``: a finished stage is read back, a trained one is only exported / tested, a stage with a
checkpoint resumes through MMEngine's ``--resume``. ``stage.json`` records the stage's config and options; a
stage started with other settings is never continued.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Union

from det_kd.utils.work_dir_guard import existing_checkpoints
from .stages import StageError, latest_test_metrics, run_tool

#: The file in a run directory that records the stage's settings.
STAGE_FILE = 'stage.json'


def stage_progress(run_dir: str, epochs: int, export: bool) -> str:
    """How far a stage's run directory got: ``'new'``, ``'started'`` (a checkpoint to resume from),
    ``'trained'`` (the final checkpoint, and the exported student if ``export``) or ``'tested'``."""
    final = osp.join(run_dir, 'student.pth' if export else f'epoch_{epochs}.pth')
    if osp.isfile(final) or osp.isfile(osp.join(run_dir, f'epoch_{epochs}.pth')):
        test_dir = osp.join(run_dir, 'test')
        try:
            latest_test_metrics(test_dir)
            tested = osp.isfile(osp.join(test_dir, 'predictions.pkl'))
        except FileNotFoundError:
            tested = False
        return 'tested' if tested and osp.isfile(final) else 'trained'
    if existing_checkpoints(run_dir):
        return 'started'
    return 'new'


def _check_stage_settings(name: str, run_dir: str, settings: dict, progress: str) -> None:
    path = osp.join(run_dir, STAGE_FILE)
    if progress == 'new':
        return
    if not osp.isfile(path):
        raise StageError(f'{name}: {run_dir} holds checkpoints but no {STAGE_FILE}; it was not written by this '
                         'tool, so it cannot be continued: use another work directory')
    with open(path) as f:
        recorded = json.load(f)
    if recorded != settings:
        changed = sorted(key for key in set(recorded) | set(settings) if recorded.get(key) != settings.get(key))
        raise StageError(f'{name}: {run_dir} was started with other settings ({", ".join(changed)} differ: '
                         f'{ {k: recorded.get(k) for k in changed} } then, { {k: settings.get(k) for k in changed} } '
                         'now); rerun with the same arguments or use another work directory')


def train_and_test(name: str, config: str, test_config: str, run_dir: str, cwd: str, options: List[str],
                   epochs: int, progress: bool, export: bool = False,
                   env: Optional[Dict[str, str]] = None, resume: bool = False) -> Dict[str, Union[float, str]]:
    """Trains ``config`` into ``run_dir``, optionally exports the student, tests with ``test_config``.

    Args:
        name (str): Label of the progress bars and error messages.
        config (str): Config trained with ``tools/train.py``.
        test_config (str): Config the checkpoint is tested with (``tools/test.py``), e.g. the plain student
            config of a distillation run.
        run_dir (str): Work directory of the run; ``stage.json``, ``train.log``, ``export.log``, ``test.log``
            and ``test/`` go there.
        cwd (str): Working directory of the tools (the folder holding ``data/``).
        options (List[str]): ``--cfg-options`` of the training; they must set ``train_cfg.max_epochs`` to
            ``epochs`` (see :func:`det_kd.experiments.schedule_options`).
        epochs (int): Training epochs: the checkpoint tested is ``run_dir/epoch_<epochs>.pth``.
        progress (bool): Show progress bars.
        export (bool): Export the student of a distillation checkpoint (``tools/export_student.py``) to
            ``run_dir/student.pth`` and test that. Defaults to False.
        env (dict, optional): Extra environment variables of the tools (see :func:`run_tool`).
        resume (bool): Continue what ``run_dir`` holds (see the module docstring) instead of refusing a
            run directory with checkpoints. Defaults to False.

    Returns:
        dict: The test metrics (``'pascal_voc/mAP'``, ...), ``checkpoint``, the path tested, ``predictions``,
        the detections on the test set (``tools/test.py --out``), and ``stage``, what this call did
        (``'trained'``, ``'resumed'``, ``'tested'`` or ``'read back'``).

    Raises:
        StageError: A tool failed; or ``run_dir`` holds an earlier run (without ``resume``), or one with other
            settings.
    """
    settings = dict(config=config, test_config=test_config, options=list(options), epochs=epochs, export=export)
    done = stage_progress(run_dir, epochs, export)
    if done != 'new' and not resume:
        raise StageError(f'{name}: {run_dir} already holds a run ({done}); pass --resume to continue it, or use '
                         'another work directory')
    _check_stage_settings(name, run_dir, settings, done)
    checkpoint = osp.join(run_dir, 'student.pth' if export else f'epoch_{epochs}.pth')
    predictions = osp.join(run_dir, 'test', 'predictions.pkl')
    if done == 'tested':
        return dict(latest_test_metrics(osp.join(run_dir, 'test')), predictions=predictions, checkpoint=checkpoint,
                    stage='read back')
    stage = 'tested'
    if done in ('new', 'started'):
        if done == 'new':
            os.makedirs(run_dir, exist_ok=True)
            with open(osp.join(run_dir, STAGE_FILE), 'w') as f:
                json.dump(settings, f, indent=2)
        run_tool('train.py', [config, '--work-dir', run_dir, *(['--resume'] if done == 'started' else []),
                              '--cfg-options', *options],
                 osp.join(run_dir, 'train.log' if done == 'new' else 'train_resumed.log'),
                 f'{name}: {"train" if done == "new" else "resume"}', cwd, max_epochs=epochs,
                 show_progress=progress, env=env)
        stage = 'trained' if done == 'new' else 'resumed'
    if export and not osp.isfile(checkpoint):
        run_tool('export_student.py', [osp.join(run_dir, f'epoch_{epochs}.pth'), '--out', checkpoint],
                 osp.join(run_dir, 'export.log'), f'{name}: export', cwd, show_progress=False, env=env)
    return dict(evaluate_checkpoint(name, test_config, checkpoint, run_dir, cwd, progress, env),
                checkpoint=checkpoint, stage=stage)


def evaluate_checkpoint(name: str, config: str, checkpoint: str, run_dir: str, cwd: str, progress: bool,
                        env: Optional[Dict[str, str]] = None) -> Dict[str, float]:
    """Tests ``checkpoint`` with ``config`` (``tools/test.py``, log ``run_dir/test.log``, results under
    ``run_dir/test``) and returns its metrics and ``predictions``, the path of its detections on the test
    set (``run_dir/test/predictions.pkl``, for the bootstrap over validation images)."""
    test_dir = osp.join(run_dir, 'test')
    predictions = osp.join(test_dir, 'predictions.pkl')
    run_tool('test.py', [config, checkpoint, '--work-dir', test_dir, '--out', predictions],
             osp.join(run_dir, 'test.log'), f'{name}: test', cwd, show_progress=progress, env=env)
    return dict(latest_test_metrics(test_dir), predictions=predictions)
