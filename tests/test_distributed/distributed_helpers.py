"""Generated data, test configs and process launching shared by the distributed / resume tests.

Kept out of a ``conftest.py``: ``tests/test_tools`` imports its helpers with ``from conftest import ...``,
which a second ``conftest`` module could shadow.
"""
import os
import os.path as osp
import socket
import subprocess
import sys
from typing import Dict, List, Optional

import pytest
import torch

from det_kd.synthetic import generate_dataset

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(HERE))
KD_CONFIG = osp.join(REPO, 'configs', 'kd', 'kd_alexnet-w0.25-vgg16-w0.25_12e_synthetic-coco.py')
NUM_TRAIN = 6
_DATA_ROOTS: Dict[str, str] = {}


@pytest.fixture(scope='session')
def data_root(tmp_path_factory) -> str:
    """A working directory with ``data/synthetic/coco`` (6 train, 2 val images at 320x240), made once."""
    if 'root' not in _DATA_ROOTS:
        root = str(tmp_path_factory.mktemp('distributed'))
        generate_dataset(osp.join(root, 'data', 'synthetic'), num_train=NUM_TRAIN, num_val=2,
                         img_size=(320, 240), seed=0, formats=('coco', ), progress=False)
        _DATA_ROOTS['root'] = root
    return _DATA_ROOTS['root']


def write_kd_config(path: str, custom_hooks: List[dict], imports: tuple = (), **settings) -> str:
    """Writes a config inheriting the VGG16 -> AlexNet distillation config with a random teacher.

    Args:
        path (str): Where to write it.
        custom_hooks (list[dict]): The run's ``custom_hooks`` (replacing the config's).
        imports (tuple[str]): Modules imported besides ``det_kd`` (found through ``PYTHONPATH``).
        **settings: Top-level config entries, merged into the base config's (e.g. ``train_cfg=dict(...)``).

    Returns:
        str: ``path``.
    """
    lines = [f'_base_ = {KD_CONFIG!r}',
             f"custom_imports = dict(imports={['det_kd', *imports]!r}, allow_failed_imports=False)",
             f'custom_hooks = {custom_hooks!r}',
             'model = dict(teacher=dict(checkpoint=None, allow_random_init=True))']
    lines += [f'{key} = {value!r}' for key, value in settings.items()]
    with open(path, 'w') as file:
        file.write('\n'.join(lines) + '\n')
    return path


def tool_env(**extra: str) -> Dict[str, str]:
    """The environment of a tool run: this interpreter first on ``PATH`` (the shell scripts call
    ``python``), this folder importable (probe hooks) and one thread per process."""
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    env['PATH'] = os.pathsep.join((osp.dirname(sys.executable), env.get('PATH', '')))
    env['PYTHONPATH'] = os.pathsep.join(p for p in (HERE, env.get('PYTHONPATH')) if p)
    env.update(extra)
    return env


class TrainRun:
    """``python tools/train.py CONFIG --work-dir WORK_DIR *args`` started in the background.

    Its output goes to ``WORK_DIR.log``; runs started together share the CPU (one thread each).

    Args:
        config (str): The config file.
        work_dir (str): The run's work directory.
        cwd (str): Working directory (where ``data/synthetic`` is).
        *args (str): Further ``train.py`` arguments.
    """

    def __init__(self, config: str, work_dir: str, cwd: str, *args: str) -> None:
        self.log_path = work_dir + '.log'
        with open(self.log_path, 'w') as log:
            self.proc = subprocess.Popen(
                [sys.executable, osp.join(REPO, 'tools', 'train.py'), config, '--work-dir', work_dir, *args],
                cwd=cwd, env=tool_env(), stdout=log, stderr=subprocess.STDOUT)

    def finish(self, expected_returncode: int = 0, timeout: int = 600) -> str:
        """Waits for the run and returns its log; fails the test on another exit code."""
        self.proc.wait(timeout=timeout)
        with open(self.log_path) as log:
            text = log.read()
        assert self.proc.returncode == expected_returncode, \
            f'{self.proc.args} exited with {self.proc.returncode}, not {expected_returncode}:\n{text[-6000:]}'
        return text


def dist_train(config: str, work_dir: str, cwd: str, *args: str) -> str:
    """``bash tools/dist_train.sh CONFIG 2 --work-dir WORK_DIR *args`` on gloo, as a user runs it; returns its
    output. On another exit code than 0 the test fails with the output's error lines (a child's traceback,
    torchrun's summary of the failed rank and its exit code) and its end; the whole output is kept in
    ``WORK_DIR.log``."""
    proc = subprocess.run(
        ['bash', osp.join(REPO, 'tools', 'dist_train.sh'), config, '2', '--work-dir', work_dir, *args,
         '--cfg-options', 'env_cfg.dist_cfg.backend=gloo'],
        cwd=cwd, env=tool_env(PORT=str(free_port())), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=600)
    with open(work_dir + '.log', 'w') as log:
        log.write(proc.stdout)
    if proc.returncode != 0:
        lines = proc.stdout.splitlines()
        errors = [line for line in lines if any(word in line for word in (
            'Error', 'error', 'Traceback', 'exitcode', 'Signal', 'signal', 'rank', 'Killed', 'core dumped'))]
        raise AssertionError(f'dist_train.sh exited with {proc.returncode} (whole output: {work_dir}.log); '
                             f'its error lines:\n' + '\n'.join(errors[-60:]) + f'\n... its end:\n{proc.stdout[-4000:]}')
    return proc.stdout


def free_port() -> int:
    """A TCP port free on this machine now (for the rendezvous of ``tools/dist_train.sh``)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def load_state_dict(checkpoint: str) -> Dict[str, torch.Tensor]:
    """The ``state_dict`` of an MMEngine checkpoint, read with ``weights_only=True``."""
    return torch.load(checkpoint, map_location='cpu', weights_only=True)['state_dict']


def differing_keys(a: Dict[str, torch.Tensor], b: Dict[str, torch.Tensor]) -> Optional[List[str]]:
    """Keys whose tensors are not bit-identical (None when the key sets differ)."""
    if set(a) != set(b):
        return None
    return [key for key in a if not torch.equal(a[key], b[key])]
