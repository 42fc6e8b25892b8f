"""Smoke test through the real runner: tools/train.py, --resume, tools/test.py on generated data."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from det_kd.synthetic import generate_dataset

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(REPO, 'configs', 'faster_rcnn', 'faster-rcnn_tiny-r18_12e_synthetic-coco.py')
NUM_TRAIN, BATCH = 6, 2
FAST = ['train_dataloader.batch_size=%d' % BATCH, 'train_cfg.val_interval=100',
        'default_hooks.logger.interval=1']


def run_tool(tool, args, cwd):
    """Runs tools/<tool> in ``cwd`` and returns its combined output; fails the test on error."""
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', tool), *args], cwd=cwd, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    assert proc.returncode == 0, f'{tool} {args} failed:\n{proc.stdout[-6000:]}'
    return proc.stdout


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp('smoke')
    generate_dataset(str(root / 'data' / 'synthetic'), num_train=NUM_TRAIN, num_val=4,
                     img_size=(320, 240), seed=0, formats=('coco', ))
    return root


def test_train_resume_and_test(workspace):
    work_dir = str(workspace / 'work_dir')
    iters_per_epoch = NUM_TRAIN // BATCH

    run_tool('train.py', [CONFIG, '--work-dir', work_dir, '--cfg-options', 'train_cfg.max_epochs=1', *FAST],
             cwd=workspace)
    first = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(first)

    out = run_tool('train.py', [CONFIG, '--work-dir', work_dir, '--resume', '--cfg-options',
                                'train_cfg.max_epochs=2', *FAST], cwd=workspace)
    assert f'resumed epoch: 1, iter: {iters_per_epoch}' in out
    ckpt = torch.load(osp.join(work_dir, 'epoch_2.pth'), map_location='cpu', weights_only=True)
    assert ckpt['meta']['epoch'] == 2
    assert ckpt['meta']['iter'] == 2 * iters_per_epoch
    # The resumed run continued the optimizer's state rather than starting afresh.
    assert ckpt['optimizer']['state'], 'optimizer state missing from the resumed checkpoint'

    results = str(workspace / 'results.pkl')
    out = run_tool('test.py', [CONFIG, osp.join(work_dir, 'epoch_2.pth'), '--work-dir', work_dir,
                               '--out', results], cwd=workspace)
    assert 'coco/bbox_mAP' in out
    assert osp.getsize(results) > 0
