"""Every config under configs/ (except _base_) loads and builds its model on CPU; the paper's models train.

The list is globbed, so new configs are covered; a config whose model type is not registered fails.
"""
import glob
import os.path as osp
import tempfile

import numpy as np
import pytest
import torch
from mmdet.registry import DATASETS, MODELS
from mmdet.testing import demo_mm_inputs
from mmdet.utils import register_all_modules
from mmengine.config import Config

import det_kd  # noqa: F401  (what custom_imports loads: registers det_kd's modules)
from det_kd.models.backbones import PlainConvNet
from det_kd.models.distillation.teacher_results import write_teacher_results
from det_kd.synthetic import SYNTHETIC_CLASSES

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_ROOT = osp.join(REPO, 'configs')
CONFIGS = sorted(
    osp.relpath(path, CONFIG_ROOT) for path in glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True)
    if '_base_' not in osp.relpath(path, CONFIG_ROOT).split(osp.sep))
# The paper's four models at CPU-demo width: one training step and one prediction each.
PAPER_DEMOS = [
    f'faster_rcnn/faster-rcnn_{name}-w0.25_12e_synthetic-coco.py'
    for name in ('vgg16', 'vggm', 'alexnet', 'tucker-alexnet')
]
# Parameters of the full-width paper models on VOC (21 classes): VGG16 137M (paper: 138M), AlexNet 58M
# (paper: 62M), Tucker-AlexNet 12M (paper: 11M); VGG-M has py-faster-rcnn's 1024-unit fc6/fc7 (paper: 80M).
PAPER_PARAMS = {
    'faster_rcnn/faster-rcnn_vgg16_1x_voc07.py': 137_057_234,
    'faster_rcnn/faster-rcnn_vggm_1x_voc07.py': 27_748_626,
    'faster_rcnn/faster-rcnn_alexnet_1x_voc07.py': 58_019_282,
    'faster_rcnn/faster-rcnn_tucker-alexnet_1x_voc07.py': 11_994_222,
}

register_all_modules()


def _classes(dataset: dict) -> tuple:
    """Class names of a dataset config: its ``metainfo``, else its class's ``METAINFO``."""
    while 'dataset' in dataset or 'datasets' in dataset:  # wrappers (RepeatDataset, ConcatDataset)
        dataset = dataset.dataset if 'dataset' in dataset else dataset.datasets[0]
    return tuple(dataset.get('metainfo', {}).get('classes') or DATASETS.get(dataset.type).METAINFO['classes'])


def _num_classes(dataset: dict) -> int:
    return len(_classes(dataset))


def _empty_teacher_results(classes: tuple) -> str:
    """A results file of the classes with no detection on the two images the step test feeds."""
    path = osp.join(tempfile.mkdtemp(), 'teacher_results.json')
    write_teacher_results(path, classes, [dict(id=i, file_name=f'img{i}.png', width=160, height=128) for i in range(2)],
                          [])
    return path


def _build(config: str):
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, config))
    if cfg.model.type == 'BlackBoxKDFasterRCNN':
        # A black-box teacher is a results file of the dataset's classes (an empty one here).
        cfg.model.teacher.results = _empty_teacher_results(_classes(cfg.train_dataloader.dataset))
    elif 'teacher' in cfg.model:
        # A distillation config names a trained teacher's checkpoint; the architecture is all we build here.
        teachers = cfg.model.teacher if isinstance(cfg.model.teacher, list) else [cfg.model.teacher]
        for teacher in teachers:
            teacher.update(checkpoint=None, allow_random_init=True)
    return cfg, MODELS.build(cfg.model)


def test_configs_are_found():
    assert len(CONFIGS) >= 25
    assert set(PAPER_DEMOS) | set(PAPER_PARAMS) <= set(CONFIGS)


@pytest.mark.parametrize('config', CONFIGS)
def test_config_builds_its_model(config):
    cfg, model = _build(config)
    assert cfg.custom_imports == dict(imports=['det_kd'], allow_failed_imports=False)
    head = model.roi_head.bbox_head if hasattr(model, 'roi_head') else model.bbox_head  # two-stage or one-stage
    assert head.num_classes == _num_classes(cfg.train_dataloader.dataset)
    if config in PAPER_PARAMS:
        assert sum(p.numel() for p in model.parameters()) == PAPER_PARAMS[config]
    if isinstance(model.backbone, PlainConvNet):
        # Single stride-16 map: the backbone, RPN, RoI extractor and box head agree.
        channels = model.backbone.stage_channels[model.backbone.out_indices[-1]]
        extractor = model.roi_head.bbox_roi_extractor
        assert model.rpn_head.in_channels == extractor.out_channels == channels
        assert model.roi_head.bbox_head.in_channels == channels
        assert extractor.featmap_strides == [16]
        assert tuple(extractor.roi_layers[0].output_size) == tuple(model.roi_head.bbox_head.roi_feat_size)


@pytest.mark.parametrize('config', PAPER_DEMOS)
def test_paper_model_trains_a_step_and_predicts(config):
    _, model = _build(config)
    torch.manual_seed(0)
    packed = demo_mm_inputs(
        batch_size=1, image_shapes=(3, 128, 160), num_items=[2], num_classes=len(SYNTHETIC_CLASSES))
    model.train()
    losses = model(**model.data_preprocessor(packed, True), mode='loss')
    assert {'loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox'} <= set(losses)
    loss, _ = model.parse_losses(losses)
    loss.backward()
    assert torch.isfinite(loss)
    first_conv = model.backbone.get_submodule(next(iter(model.backbone.conv_paths.values())))
    assert first_conv.weight.grad is not None and first_conv.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        results = model(**model.data_preprocessor(packed, False), mode='predict')
    assert len(results) == 1 and results[0].pred_instances.bboxes.shape[-1] == 4


# Table 2 (same architecture, student at half the teacher's resolution): distillation config -> the plain
# student config that trains the baseline and tests both students.
RESOLUTION_PAIRS = {
    'resolution/kd_alexnet-w0.25-160x120_alexnet-w0.25-320x240_12e_synthetic-coco.py':
    'resolution/faster-rcnn_alexnet-w0.25_160x120_12e_synthetic-coco.py',
    'resolution/kd_alexnet-344px_alexnet-688px_1x_voc07.py': 'resolution/faster-rcnn_alexnet_344px_1x_voc07.py',
    'resolution/kd_tucker-alexnet-344px_tucker-alexnet-688px_1x_voc07.py':
    'resolution/faster-rcnn_tucker-alexnet_344px_1x_voc07.py',
}


def _resize_scale(cfg, loader: str) -> tuple:
    return next(tuple(step.scale) for step in cfg[loader].dataset.pipeline if step.type == 'Resize')


@pytest.mark.parametrize('kd_config', sorted(RESOLUTION_PAIRS))
def test_half_resolution_student_is_its_plain_config_at_half_the_teachers_size(kd_config):
    kd = Config.fromfile(osp.join(CONFIG_ROOT, kd_config))
    student = Config.fromfile(osp.join(CONFIG_ROOT, RESOLUTION_PAIRS[kd_config]))
    teacher = Config.fromfile(kd.model.teacher.config)
    assert kd.model.student_input_scale == 0.5
    student_model = {k: v for k, v in kd.model.items() if k not in ('teacher', 'distill', 'student_input_scale')}
    assert student_model == dict(student.model, type='KDFasterRCNN')
    for loader in ('train_dataloader', 'test_dataloader'):
        teacher_scale, student_scale = _resize_scale(kd, loader), _resize_scale(student, loader)
        assert _resize_scale(teacher, loader) == teacher_scale  # the KD pipeline is the teacher's
        assert all(abs(t / 2 - s) <= 0.5 for t, s in zip(teacher_scale, student_scale))
    cfg, model = _build(kd_config)
    assert model.distiller.teacher.resolution_ratio == 2.0


def test_distillation_configs_run_the_diagnostics_hook():
    from mmdet.registry import HOOKS
    kd_configs = [c for c in CONFIGS if 'DistillationScheduleHook' in open(osp.join(CONFIG_ROOT, c)).read()]
    assert len(kd_configs) >= 11
    for config in kd_configs:
        cfg = Config.fromfile(osp.join(CONFIG_ROOT, config))
        if cfg.model.type == 'BlackBoxKDFasterRCNN':  # no teacher network to diagnose
            continue
        hooks = cfg.custom_hooks
        diagnostics = [h for h in hooks if h.type == 'DistillationDiagnosticsHook']
        assert len(diagnostics) == 1, config
        assert HOOKS.build(diagnostics[0]).interval == 100


def test_distillation_configs_name_the_teacher_only_inside_the_model():
    """A top-level ``teacher_checkpoint`` variable would be dumped beside an overridden
    ``model.teacher.checkpoint`` and mislead whoever reads the run's config."""
    kd_configs = [c for c in CONFIGS if 'KDFasterRCNN' in open(osp.join(CONFIG_ROOT, c)).read()]
    assert len(kd_configs) >= 9
    for config in kd_configs:
        cfg = Config.fromfile(osp.join(CONFIG_ROOT, config))
        assert not {'teacher_checkpoint', 'teacher_config'} & set(cfg.keys()), config


#: The distillation configs at CPU-demo width (the full-width ones need CUDA's RoIPool and minutes on a CPU).
KD_DEMO_WIDTH_CONFIGS = [c for c in CONFIGS if 'w0.25' in c and 'teacher' in Config.fromfile(osp.join(CONFIG_ROOT, c)).model]


@pytest.mark.parametrize('config', KD_DEMO_WIDTH_CONFIGS)
def test_distillation_config_steps_with_finite_losses(config):
    """Every distillation config (random-weight teachers; a black-box one an empty results file) trains one step
    on two small images with finite losses, and every term it configures logs its loss."""
    _, model = _build(config)
    torch.manual_seed(0)
    packed = demo_mm_inputs(batch_size=2, image_shapes=[(3, 128, 160)] * 2, num_items=[2, 1],
                            num_classes=model.roi_head.bbox_head.num_classes)
    for index, sample in enumerate(packed['data_samples']):
        sample.set_metainfo(dict(img_path=f'img{index}.png', homography_matrix=np.eye(3, dtype=np.float32)))
    model.train()
    data = model.data_preprocessor(packed, True)
    losses = model.loss(data['inputs'], data['data_samples'])
    assert set(model.distillation_loss_keys) <= set(losses)
    loss, _ = model.parse_losses(losses)
    assert torch.isfinite(loss), {key: value for key, value in losses.items() if 'loss' in key}
