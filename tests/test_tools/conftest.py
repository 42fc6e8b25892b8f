"""A generated dataset and a helper to run the repo's command-line tools, shared by the tool tests."""
import os
import os.path as osp
import subprocess
import sys

import pytest

from det_kd.synthetic import generate_dataset

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NUM_TRAIN = 6


def run_tool(tool, args, cwd, returncode=0):
    """Runs ``tools/<tool>`` in ``cwd`` and returns its combined output; fails the test unless it exits with
    ``returncode``."""
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', tool), *args], cwd=cwd, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    assert proc.returncode == returncode, \
        f'{tool} {args} exited with {proc.returncode}, not {returncode}:\n{proc.stdout[-6000:]}'
    return proc.stdout


@pytest.fixture(scope='session')
def workspace(tmp_path_factory):
    """A working directory with ``data/synthetic/coco`` (6 train, 4 val images at 320x240)."""
    root = tmp_path_factory.mktemp('workspace')
    generate_dataset(str(root / 'data' / 'synthetic'), num_train=NUM_TRAIN, num_val=4, img_size=(320, 240),
                     seed=0, formats=('coco', ), progress=False)
    return root


TEACHER_CONFIG = osp.join(REPO, 'configs', 'faster_rcnn', 'faster-rcnn_vgg16-w0.25_12e_synthetic-coco.py')
ONE_EPOCH = ['train_cfg.max_epochs=1', 'train_dataloader.batch_size=2', 'default_hooks.logger.interval=1',
             'train_cfg.val_interval=2']


@pytest.fixture(scope='session')
def teacher_checkpoint(workspace):
    """A VGG16-w0.25 teacher trained for one epoch on the workspace data with ``tools/train.py``."""
    work_dir = str(workspace / 'teacher')
    run_tool('train.py', [TEACHER_CONFIG, '--work-dir', work_dir, '--cfg-options', *ONE_EPOCH], cwd=workspace)
    return osp.join(work_dir, 'epoch_1.pth')
