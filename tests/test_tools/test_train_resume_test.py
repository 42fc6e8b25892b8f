"""Smoke test through the real runner: tools/train.py, --resume, tools/test.py on generated data."""
import os.path as osp

import torch
from conftest import NUM_TRAIN, REPO, run_tool

CONFIG = osp.join(REPO, 'configs', 'faster_rcnn', 'faster-rcnn_tiny-r18_12e_synthetic-coco.py')
BATCH = 2
FAST = [f'train_dataloader.batch_size={BATCH}', 'train_cfg.val_interval=100', 'default_hooks.logger.interval=1']


def test_train_resume_and_test(workspace):
    work_dir = str(workspace / 'tiny_r18')
    iters_per_epoch = NUM_TRAIN // BATCH

    run_tool('train.py', [CONFIG, '--work-dir', work_dir, '--cfg-options', 'train_cfg.max_epochs=1', *FAST],
             cwd=workspace)
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))

    out = run_tool('train.py', [CONFIG, '--work-dir', work_dir, '--resume', '--cfg-options',
                                'train_cfg.max_epochs=2', *FAST], cwd=workspace)
    assert f'resumed epoch: 1, iter: {iters_per_epoch}' in out
    ckpt = torch.load(osp.join(work_dir, 'epoch_2.pth'), map_location='cpu', weights_only=True)
    assert ckpt['meta']['epoch'] == 2
    assert ckpt['meta']['iter'] == 2 * iters_per_epoch
    # The resumed run continued the optimizer's state rather than starting afresh.
    assert ckpt['optimizer']['state'], 'optimizer state missing from the resumed checkpoint'

    results = str(workspace / 'tiny_r18_results.pkl')
    out = run_tool('test.py', [CONFIG, osp.join(work_dir, 'epoch_2.pth'), '--work-dir', work_dir,
                               '--out', results], cwd=workspace)
    assert 'coco/bbox_mAP' in out
    assert osp.getsize(results) > 0
