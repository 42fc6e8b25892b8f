"""One model's stage of a sweep: train a config, optionally export the student, test, return the metrics."""
import os.path as osp
from typing import Dict, List, Optional, Union

from .stages import latest_test_metrics, run_tool


def train_and_test(name: str, config: str, test_config: str, run_dir: str, cwd: str, options: List[str],
                   epochs: int, progress: bool, export: bool = False,
                   env: Optional[Dict[str, str]] = None) -> Dict[str, Union[float, str]]:
    """Trains ``config`` into ``run_dir``, optionally exports the student, tests with ``test_config``.

    Args:
        name (str): Label of the progress bars and error messages.
        config (str): Config trained with ``tools/train.py``.
        test_config (str): Config the checkpoint is tested with (``tools/test.py``), e.g. the plain student
            config of a distillation run.
        run_dir (str): Work directory of the run; ``train.log``, ``export.log``, ``test.log`` and ``test/``
            go there.
        cwd (str): Working directory of the tools (the folder holding ``data/``).
        options (List[str]): ``--cfg-options`` of the training; they must set ``train_cfg.max_epochs`` to
            ``epochs`` (see :func:`det_kd.demo.schedule_options`).
        epochs (int): Training epochs: the checkpoint tested is ``run_dir/epoch_<epochs>.pth``.
        progress (bool): Show progress bars.
        export (bool): Export the student of a distillation checkpoint (``tools/export_student.py``) to
            ``run_dir/student.pth`` and test that. Defaults to False.
        env (dict, optional): Extra environment variables of the tools (see :func:`run_tool`).

    Returns:
        dict: The test metrics (``'pascal_voc/mAP'``, ...), ``checkpoint``, the path tested, and
        ``predictions``, the detections on the test set (``tools/test.py --out``).
    """
    run_tool('train.py', [config, '--work-dir', run_dir, '--cfg-options', *options],
             osp.join(run_dir, 'train.log'), f'{name}: train', cwd, max_epochs=epochs, show_progress=progress,
             env=env)
    checkpoint = osp.join(run_dir, f'epoch_{epochs}.pth')
    if export:
        student = osp.join(run_dir, 'student.pth')
        run_tool('export_student.py', [checkpoint, '--out', student], osp.join(run_dir, 'export.log'),
                 f'{name}: export', cwd, show_progress=False, env=env)
        checkpoint = student
    return dict(evaluate_checkpoint(name, test_config, checkpoint, run_dir, cwd, progress, env),
                checkpoint=checkpoint)


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
