"""A teacher of another architecture with tools/train.py: an FCOS R50-w0.25 + FPN teacher (one-stage, anchor-free)
trained by tools/train.py, then the Faster R-CNN R18-w0.25 + FPN student distilled from it with FGD (which also
reads the ground-truth boxes) by its config, at toy size: the configs the FPN bench measures run as a user runs
them."""
import json
import math
import os.path as osp

from conftest import REPO, run_tool

FCOS = osp.join(REPO, 'configs', 'fcos', 'fcos_r50-w0.25_fpn_gn-head_12e_synthetic-coco.py')
FGD_FROM_FCOS = osp.join(REPO, 'configs', 'kd', 'fgd_r18-w0.25-fcos-r50-w0.25_fpn_12e_synthetic-coco.py')
ONE_EPOCH = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1']


def test_an_fcos_teacher_trains_and_distils_a_faster_rcnn_student(workspace):
    teacher = workspace / 'fcos'
    run_tool('train.py', [FCOS, '--work-dir', str(teacher), '--cfg-options', *ONE_EPOCH], cwd=workspace)
    student = workspace / 'fgd_from_fcos'
    run_tool('train.py', [FGD_FROM_FCOS, '--work-dir', str(student), '--cfg-options', *ONE_EPOCH,
                          f'model.teacher.checkpoint={teacher / "epoch_1.pth"}'], cwd=workspace)
    logged = [json.loads(line) for line in next(student.glob('*/vis_data/scalars.json')).read_text().splitlines()]
    trained = [record for record in logged if 'loss_fgd' in record]
    assert trained and all(math.isfinite(record['loss_fgd']) for record in trained)
    assert any(record['loss_fgd'] > 0 for record in trained) and (student / 'epoch_1.pth').is_file()
    assert any('pascal_voc/mAP' in record for record in logged)  # validated with the student's own head
