"""A user's own trained teacher in the demo (det_kd.experiments.own_teacher): its classes checked against the
data, and the distillation terms matched to its architecture (head terms need an RPN with the student's
anchors or an RoI head; feature pairs move to the teacher level of the student's stride)."""
import os.path as osp

import pytest
import torch
from conftest import REPO
from mmengine.config import Config

from det_kd.experiments.own_teacher import (check_teacher_classes, describe_terms, feature_strides, input_size_note,
                                            terms_for_teacher)
from det_kd.experiments.stages import StageError

RETINANET = osp.join(REPO, 'configs', 'retinanet', 'retinanet_r50-w0.25_fpn_12e_synthetic-coco.py')
FPN_STUDENT = osp.join(REPO, 'configs', 'faster_rcnn', 'faster-rcnn_r18-w0.25_fpn_12e_synthetic-coco.py')
DEMO_STUDENT = osp.join(REPO, 'configs', 'demo', 'faster-rcnn_alexnet-w0.25_demo.py')
DEMO_TEACHER = osp.join(REPO, 'configs', 'demo', 'faster-rcnn_vgg16-w0.25_demo.py')
DEMO_KD = osp.join(REPO, 'configs', 'demo', 'kd_alexnet-w0.25-vgg16-w0.25_hint10-centre_demo.py')


def model(path):
    return Config.fromfile(path).model.to_dict()


def test_feature_strides_of_the_models():
    assert feature_strides(model(DEMO_STUDENT)) == [16]
    assert feature_strides(model(RETINANET)) == [8, 16, 32, 64, 128]  # P3-P7
    assert feature_strides(model(FPN_STUDENT)) == [4, 8, 16, 32, 64]  # P2-P6


def test_a_one_stage_teacher_keeps_the_feature_terms_on_the_levels_of_the_students_strides():
    distill = dict(hints=[dict(student=level, teacher=level) for level in range(5)],
                   terms=[dict(type='PearsonDistillationTerm', pairs=[dict(student=1, teacher=1)])])
    matched, reasons = terms_for_teacher(distill, model(RETINANET), model(FPN_STUDENT),
                                         ([4, 8, 16, 32, 64], [8, 16, 32, 64, 128]))
    assert all(matched[term] is None for term in ('rpn_cls', 'rpn_reg', 'rcn_cls', 'rcn_reg'))
    assert any(r.startswith('rpn_cls: off, the teacher (RetinaNet) has no rpn_head') for r in reasons)
    assert any(r.startswith('rcn_reg: off, the teacher (RetinaNet) has no roi_head') for r in reasons)
    # student P2 (stride 4) has no teacher level; P3-P6 (8-64) pair with the teacher's P3-P6 (outputs 0-3)
    assert matched['hints'] == [dict(student=level, teacher=level - 1) for level in range(1, 5)]
    assert matched['terms'][0]['pairs'] == [dict(student=1, teacher=0)]
    assert "the hint: the pair student 0 / teacher 0 dropped: the teacher has no output of the student's stride 4 " \
        '(its strides: [8, 16, 32, 64, 128])' in reasons
    text = describe_terms({'PKD': (matched, reasons)})
    assert text.startswith('- PKD: terms used: hint, PearsonDistillationTerm\n  - rpn_cls: off')


def test_a_two_stage_teacher_with_other_anchors_loses_only_the_rpn_terms():
    teacher = model(DEMO_TEACHER)
    teacher['rpn_head']['anchor_generator'] = dict(teacher['rpn_head']['anchor_generator'], scales=[2, 4, 8, 16])
    matched, reasons = terms_for_teacher(dict(hints=[dict(student=0, teacher=0)]), teacher, model(DEMO_STUDENT),
                                         ([16], [16]))
    assert matched['rpn_cls'] is None and matched['rpn_reg'] is None and 'rcn_cls' not in matched
    assert len(reasons) == 2 and "the teacher's RPN anchors" in reasons[0]
    same, none = terms_for_teacher(Config.fromfile(DEMO_KD).model.distill.to_dict(), model(DEMO_TEACHER),
                                   model(DEMO_STUDENT))  # the demo's own pair: nothing changes
    assert none == [] and same == Config.fromfile(DEMO_KD).model.distill.to_dict()
    with pytest.raises(ValueError, match='no distillation term applies to this teacher'):
        terms_for_teacher(dict(loss_hint=None, rcn_cls=None, rcn_reg=None), model(RETINANET), model(DEMO_STUDENT),
                          ([16], [8, 16]))


def test_the_teachers_classes_must_be_the_datas(tmp_path):
    path = str(tmp_path / 'teacher.pth')
    torch.save(dict(meta=dict(dataset_meta=dict(classes=('RBC', 'WBC'))), state_dict={}), path)
    assert check_teacher_classes(path, ('RBC', 'WBC')) is None
    with pytest.raises(StageError, match=r"was trained on classes \['RBC', 'WBC'\], the student trains on \['WBC', "
                                         r"'RBC'\] \(the same names in another order\)"):
        check_teacher_classes(path, ('WBC', 'RBC'))
    torch.save(dict(meta=dict(), state_dict={}), path)
    assert 'records no class names' in check_teacher_classes(path, ('RBC', 'WBC'))


def test_a_retinanet_teacher_through_the_demo_at_toy_size(tmp_path):
    """A one-stage teacher of another architecture, trained with tools/train.py, distilled into the demo's
    AlexNet student: the head terms off, the hint on the teacher's stride-16 level, said in results.md."""
    import subprocess
    import sys

    from conftest import run_tool

    from det_kd.synthetic import generate_dataset
    generate_dataset(str(tmp_path / 'data' / 'synthetic'), num_train=4, num_val=2, img_size=(160, 120), seed=0,
                     formats=('coco', ), progress=False)
    trained = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'train.py'), RETINANET, '--work-dir',
                              str(tmp_path / 'retinanet'), '--cfg-options', 'train_cfg.max_epochs=1'],
                             cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert trained.returncode == 0, trained.stderr[-3000:]
    work_dir = tmp_path / 'demo'
    out = run_tool('demo.py', ['--work-dir', str(work_dir), '--num-train', '4', '--num-val', '2', '--img-size', '160',
                               '120', '--epochs', '1', '--latency-runs', '2', '--no-progress', '--pictures', '0',
                               '--teacher', RETINANET, '--teacher-checkpoint',
                               str(tmp_path / 'retinanet' / 'epoch_1.pth')], cwd=tmp_path)
    assert '[demo] distillation terms for the given teacher:\n- terms used: hint\n' in out
    table = (work_dir / 'results.md').read_text()
    assert ('the hint: student output 0 (stride 16) paired with teacher output 1 (stride 16) instead of 0 (stride 8)'
            in table.split('## Distillation terms for the given teacher')[1])
    distilled = Config.fromfile(str(work_dir / 'configs' / 'distilled.py'))
    assert distilled.model.teacher.config == RETINANET
    assert [distilled.model.distill[t] for t in ('rpn_cls', 'rpn_reg', 'rcn_cls', 'rcn_reg')] == [None] * 4
    assert distilled.model.distill.hints[0]['teacher'] == 1
    assert tuple(distilled.model.distill.hints[0]['teacher_geometry']) == (16, 0.0)
    assert (work_dir / 'seed0' / 'distilled' / 'student.pth').exists()


def test_a_teacher_trained_at_another_input_size_is_said():
    bccd_teacher = osp.join(REPO, 'configs', 'bccd', 'faster-rcnn_vgg16-w0.25_bccd.py')  # tests at 320x240
    assert input_size_note(bccd_teacher, (640, 480), (320, 240)) is None
    assert input_size_note(bccd_teacher, (640, 480), (336, 252)) is None  # within 10 %
    note = input_size_note(bccd_teacher, (640, 480), (256, 192))
    assert '320x240' in note and '256x192' in note and '0.80x' in note and '--input-size' in note
