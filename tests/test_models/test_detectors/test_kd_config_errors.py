"""Each configuration mistake is a build-time error whose message names what is wrong."""
import copy

import pytest
import torch
from mmdet.registry import MODELS

import det_kd  # noqa: F401
from kd_fixtures import build, kd_cfg, student_cfg, teacher_cfg


@pytest.fixture(scope='module')
def teacher_checkpoint(tmp_path_factory):
    teacher = MODELS.build(teacher_cfg())
    teacher.init_weights()
    path = tmp_path_factory.mktemp('teacher') / 'teacher.pth'
    torch.save({'state_dict': teacher.state_dict(), 'meta': {}}, path)
    return str(path), teacher.state_dict()


def test_teacher_checkpoint_loads_strictly(teacher_checkpoint):
    path, state = teacher_checkpoint
    model = build(kd_cfg(teacher_checkpoint=path))
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, state[key]), key


def test_missing_teacher_checkpoint_file():
    with pytest.raises(FileNotFoundError, match=r"teacher.checkpoint: file 'no/such/teacher.pth' not found"):
        build(kd_cfg(teacher_checkpoint='no/such/teacher.pth'))


def test_teacher_without_checkpoint_needs_explicit_opt_in():
    cfg = kd_cfg()
    cfg.teacher.allow_random_init = False
    with pytest.raises(ValueError, match='teacher.checkpoint is required'):
        build(cfg)


def test_missing_teacher_config_file():
    cfg = kd_cfg()
    cfg.teacher.config = 'configs/does_not_exist.py'
    with pytest.raises(FileNotFoundError, match="config file 'configs/does_not_exist.py' not found"):
        build(cfg)


def test_mismatched_teacher_checkpoint_names_keys(tmp_path, teacher_checkpoint):
    _, state = teacher_checkpoint
    broken = dict(state)
    broken.pop('rpn_head.rpn_conv.weight')
    broken['extra.weight'] = torch.zeros(1)
    broken['roi_head.bbox_head.fc_cls.weight'] = torch.zeros(2, 2)
    path = tmp_path / 'broken.pth'
    torch.save({'state_dict': broken}, path)
    with pytest.raises(ValueError) as error:
        build(kd_cfg(teacher_checkpoint=str(path)))
    message = str(error.value)
    assert str(path) in message
    assert "1 missing keys: ['rpn_head.rpn_conv.weight']" in message
    assert "1 unexpected keys: ['extra.weight']" in message
    assert 'roi_head.bbox_head.fc_cls.weight: checkpoint (2, 2)' in message


def test_unknown_hint_module_path_names_it():
    with pytest.raises(KeyError, match=r"student has no module 'backbone.layer9'.*no child 'layer9'"):
        build(kd_cfg(distill=dict(hints=[dict(student='backbone.layer9', teacher=0)])))
    with pytest.raises(KeyError, match=r"teacher has no module 'neck'"):
        build(kd_cfg(distill=dict(hints=[dict(student=0, teacher='neck')])))


def test_hint_channels_that_cannot_match_without_adapter():
    with pytest.raises(ValueError, match=r"adapter='none' needs equal channels.*32 and the teacher layer 64"):
        build(kd_cfg(distill=dict(hints=[dict(student=0, teacher=0, adapter='none')])))


def test_hint_by_module_path_builds_adapter_with_probed_channels():
    model = build(kd_cfg(distill=dict(hints=[dict(student='backbone.layer2', teacher='backbone.layer3',
                                                 align='resample')])))
    conv = model.distill_terms['hint'].adapters[0].conv
    assert (conv.in_channels, conv.out_channels) == (16, 64)


def test_teacher_with_other_anchors_is_rejected():
    cfg = kd_cfg()
    cfg.teacher.config.model.rpn_head.anchor_generator.scales = [2, 4]
    with pytest.raises(ValueError, match="teacher's anchor generator differs"):
        build(cfg)
    cfg.distill = dict(rpn_cls=None, rpn_reg=None)
    build(cfg)  # fine once RPN distillation is off


def test_teacher_with_other_box_coder_is_rejected():
    cfg = kd_cfg()
    cfg.teacher.config.model.roi_head.bbox_head.bbox_coder.target_stds = [0.2, 0.2, 0.2, 0.2]
    with pytest.raises(ValueError, match='rcn distillation: teacher and student box coders differ'):
        build(cfg)


def test_teacher_with_other_classes_is_rejected():
    cfg = kd_cfg()
    cfg.teacher.config.model.roi_head.bbox_head.num_classes = 7
    with pytest.raises(ValueError, match=r'bbox_head.num_classes differs \(student 3, teacher 7\)'):
        build(cfg)


def test_unknown_distill_key_and_teacher_key():
    with pytest.raises(KeyError, match="unknown key 'hint_weight'"):
        build(kd_cfg(distill=dict(hint_weight=1.0)))
    cfg = kd_cfg()
    cfg.teacher.ckpt = 'x.pth'
    with pytest.raises(KeyError, match=r"unknown keys: \['ckpt'\]"):
        build(cfg)


def test_teacher_input_scale_needs_resampling_alignment():
    cfg = kd_cfg(input_scale=2.0)
    with pytest.raises(ValueError, match="rpn_align='resample'"):
        build(cfg)
    cfg.distill = dict(rpn_align='resample')
    with pytest.raises(ValueError, match=r"times the resolution ratio 2 are \[\[45.25, 22.63\]"):
        build(cfg)  # the teacher's anchors, at twice the resolution, cover half the student's boxes
    cfg.teacher.config.model.rpn_head.anchor_generator.scales = [2, 4, 8, 16]
    with pytest.raises(ValueError, match="needs align='resample'"):
        build(cfg)
    cfg.distill = dict(rpn_align='resample', hints=[dict(student=0, teacher=0, align='resample')])
    model = build(cfg)
    assert model.distiller.teacher.input_scale == 2.0


def test_student_config_fields_are_the_plain_students():
    cfg = kd_cfg()
    plain = copy.deepcopy(cfg)
    for key in ('teacher', 'distill'):
        plain.pop(key, None)
    plain.type = 'FasterRCNN'
    assert set(MODELS.build(plain).state_dict()) == {
        k for k in build(cfg).state_dict() if not k.startswith('distill_terms.')}
    assert student_cfg().type == 'FasterRCNN'


def test_teacher_config_from_mmdet_package_path_and_inline_dicts():
    from det_kd.models.distillation import load_teacher_model_config
    model = load_teacher_model_config('mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py')
    assert model.type == 'FasterRCNN' and model.backbone.depth == 50
    assert load_teacher_model_config(dict(model=teacher_cfg())).backbone.base_channels == 16
    assert load_teacher_model_config(teacher_cfg()).type == 'FasterRCNN'
    with pytest.raises(FileNotFoundError, match='mmdet::no/such.py'):
        load_teacher_model_config('mmdet::no/such.py')


def test_several_hint_pairs_each_get_an_adapter_and_add_up():
    model = build(kd_cfg(distill=dict(hints=[
        dict(student=0, teacher=0),
        dict(student='backbone.layer2', teacher='backbone.layer2', adapter='conv3x3')])))
    assert len(model.distill_terms['hint'].adapters) == 2
    assert model.distill_terms['hint'].adapters[1].conv.kernel_size == (3, 3)
    from kd_fixtures import batch
    model.train()
    inputs, samples = batch(model)
    losses = model.loss(inputs, samples)
    assert losses['loss_hint'].requires_grad and float(losses['loss_hint']) > 0


def test_anchor_mismatch_errors_print_what_differs():
    cfg = kd_cfg()
    cfg.teacher.config.model.rpn_head.anchor_generator.scales = [2, 4]
    with pytest.raises(ValueError) as raised:
        build(cfg)
    message = str(raised.value)
    assert 'student: stride [16.0, 16.0], anchor sizes (w, h) [[22.63, 11.31]' in message
    assert 'teacher: stride [16.0, 16.0], anchor sizes (w, h) [[45.25, 22.63]' in message
    cfg = kd_cfg(input_scale=2.0, distill=dict(rpn_align='resample',
                                               hints=[dict(student=0, teacher=0, align='resample')]))
    cfg.teacher.config.model.rpn_head.anchor_generator.update(scales=[2, 4, 8, 16], ratios=[0.5, 1.0, 3.0])
    with pytest.raises(ValueError, match=r"at level 0 the teacher's anchors are .* resampling would pair anchors "
                                         'of different sizes'):
        build(cfg)
