"""det_kd loads as an MMDetection plugin through ``custom_imports``."""
import os.path as osp

from mmengine.config import Config
from mmengine.runner import Runner

from det_kd.synthetic import SYNTHETIC_CLASSES

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs', 'faster_rcnn', 'faster-rcnn_tiny-r18_12e_synthetic-coco.py')


def test_custom_imports_registers_det_kd_and_runner_builds(tmp_path):
    cfg = Config.fromfile(CONFIG)
    assert cfg.custom_imports == dict(imports=['det_kd'], allow_failed_imports=False)
    cfg.work_dir = str(tmp_path)

    runner = Runner.from_cfg(cfg)

    from mmdet.registry import DATASETS
    assert DATASETS.get('SyntheticCocoDataset') is not None
    assert type(runner.model).__name__ == 'FasterRCNN'
    assert runner.model.roi_head.bbox_head.num_classes == len(SYNTHETIC_CLASSES)
