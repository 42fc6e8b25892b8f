"""COCO, VOC and KITTI configs evaluate end to end on the synthetic data written in each format."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

import det_kd  # noqa: F401
from det_kd.evaluation.functional import kitti_eval_2d, load_kitti_gt_and_results
from det_kd.synthetic import SYNTHETIC_CLASSES, generate_dataset

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIGS = {
    'coco': ('faster-rcnn_tiny-r18_12e_synthetic-coco.py', 'coco/bbox_mAP'),  # + pascal_voc/mAP
    'voc': ('faster-rcnn_tiny-r18_12e_synthetic-voc.py', 'pascal_voc/mAP'),
    'kitti': ('faster-rcnn_tiny-r18_12e_synthetic-kitti.py', 'kitti/mAP_R40_moderate'),
}


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp('formats')
    generate_dataset(str(root / 'data' / 'synthetic'), num_train=2, num_val=3, img_size=(160, 120), seed=3,
                     progress=False)
    return root


def run_test(config_name, data_dir, monkeypatch, **evaluator):
    monkeypatch.chdir(data_dir)
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'faster_rcnn', config_name))
    cfg.work_dir = str(data_dir / 'work' / config_name)
    if evaluator:
        cfg.test_evaluator.update(evaluator)
    cfg.model.test_cfg.rcnn.score_thr = 0.0  # an untrained model: keep every box so the metric has work
    return Runner.from_cfg(cfg).test()


@pytest.mark.parametrize('fmt', sorted(CONFIGS))
def test_config_evaluates_on_its_format(fmt, data_dir, monkeypatch):
    config_name, key = CONFIGS[fmt]
    metrics = run_test(config_name, data_dir, monkeypatch)
    assert key in metrics
    assert 0.0 <= metrics[key] <= 100.0
    if fmt == 'coco':  # the synthetic COCO configs also report VOC07 mAP@0.5 on the same images
        assert 0.0 <= metrics['pascal_voc/mAP'] <= 1.0


def test_kitti_metric_equals_the_standalone_evaluator_on_its_written_results(data_dir, monkeypatch):
    result_dir = str(data_dir / 'kitti_results')
    metrics = run_test(CONFIGS['kitti'][0], data_dir, monkeypatch, result_dir=result_dir)
    label_dir = str(data_dir / 'data' / 'synthetic' / 'kitti' / 'training' / 'label_2')
    split = str(data_dir / 'data' / 'synthetic' / 'kitti' / 'ImageSets' / 'val.txt')
    ids, gts, dts = load_kitti_gt_and_results(label_dir, result_dir, split)
    classes = tuple(name.capitalize() for name in SYNTHETIC_CLASSES)
    reference = kitti_eval_2d(gts, dts, classes)
    assert len(ids) == 3
    for cls in classes:
        # result files round boxes to 2 decimals and scores to 4: equal up to that rounding
        assert metrics[f'kitti/{cls}_R40_moderate'] == pytest.approx(reference[cls]['R40']['moderate'], abs=0.5)
    assert metrics['kitti/mAP_R11_hard'] == pytest.approx(reference['mean']['R11']['hard'], abs=0.5)


def test_testing_shows_a_progress_bar(data_dir, monkeypatch, capsys):
    monkeypatch.chdir(data_dir)
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'faster_rcnn', CONFIGS['coco'][0]))
    cfg.work_dir = str(data_dir / 'work' / 'progress')
    cfg.default_hooks.progress_bar.disable = False
    Runner.from_cfg(cfg).test()
    assert 'test: 100%' in capsys.readouterr().err
