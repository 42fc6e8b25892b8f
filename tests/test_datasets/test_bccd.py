"""BCCD, a small real dataset (../shared/data/bccd): the VOC-layout reader and a tiny real training.

Skipped, with the reason, where the folder is absent (CI always has it; users get BCCD with
``git clone https://github.com/Shenggan/BCCD_Dataset``, see configs/bccd/README.md).
"""
import os
import os.path as osp
import subprocess
import sys

import pytest
from mmengine.config import Config

from mmdet.registry import DATASETS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BCCD = osp.normpath(osp.join(REPO, '..', 'shared', 'data', 'bccd'))
STUDENT = osp.join(REPO, 'configs', 'bccd', 'faster-rcnn_alexnet-w0.25_bccd.py')

pytestmark = pytest.mark.skipif(not osp.isdir(BCCD), reason=f'BCCD not found at {BCCD} (../shared/data/bccd)')


def bccd_dataset(split_key: str, **overrides):
    cfg = Config.fromfile(STUDENT)[split_key].dataset
    cfg.update(data_root=BCCD + '/', **overrides)
    return DATASETS.build(cfg)


def test_bccd_splits_classes_and_degenerate_boxes():
    train = bccd_dataset('train_dataloader', pipeline=[])
    test = bccd_dataset('test_dataloader', pipeline=[])
    assert len(train) == 292 and len(test) == 72  # ImageSets/Main/trainval.txt, test.txt
    assert train.metainfo['classes'] == ('RBC', 'WBC', 'Platelets')
    assert train.metainfo['dataset_type'] is None  # VOCMetric prints the dataset's own class names
    # the two one-pixel RBC "boxes" (BloodImage_00338, BloodImage_00343) are dropped and counted
    assert train.degenerate_boxes == {'RBC': 2}
    boxes = [i['bbox'] for d in train.data_list for i in d['instances']]
    assert all(x2 > x1 and y2 > y1 for x1, y1, x2, y2 in boxes)
    assert not train.unlisted_objects


def test_classes_the_config_does_not_list_are_counted_by_name():
    test = bccd_dataset('test_dataloader', pipeline=[], metainfo=dict(classes=('RBC', 'WBC')))
    assert set(test.unlisted_objects) == {'Platelets'} and test.unlisted_objects['Platelets'] > 0


def test_tiny_bccd_training_and_test_print_the_real_class_names(tmp_path):
    """tools/train.py and tools/test.py on 8 real images at 320x240, one epoch."""
    root = f'{BCCD}/'
    options = [f'train_dataloader.dataset.data_root={root}', f'val_dataloader.dataset.data_root={root}',
               f'test_dataloader.dataset.data_root={root}', 'train_dataloader.dataset.indices=8',
               'val_dataloader.dataset.indices=8', 'test_dataloader.dataset.indices=8', 'train_cfg.max_epochs=1',
               'train_cfg.val_interval=2', 'default_hooks.logger.interval=1']
    env = dict(os.environ, PYTHONUNBUFFERED='1')

    def tool(name, *args):
        proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', name), *args], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-4000:]
        return proc.stdout

    train_log = tool('train.py', STUDENT, '--work-dir', str(tmp_path / 'run'), '--cfg-options', *options)
    assert 'dropped boxes with no area' in train_log and 'RBC x2' in train_log
    test_log = tool('test.py', STUDENT, str(tmp_path / 'run' / 'epoch_1.pth'), '--work-dir', str(tmp_path / 'test'),
                    '--cfg-options', *options)
    rows = [line for line in test_log.splitlines() if line.startswith('| ')]
    assert any('| RBC ' in r for r in rows) and any('| WBC ' in r for r in rows) and any('| Platelets ' in r for r in rows)
    assert not any('aeroplane' in r for r in rows)
    assert 'pascal_voc/mAP' in test_log
