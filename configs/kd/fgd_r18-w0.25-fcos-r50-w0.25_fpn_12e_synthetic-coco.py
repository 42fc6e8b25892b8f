# A teacher of another architecture: Faster R-CNN ResNet-18 + FPN student, FCOS ResNet-50 + FPN teacher (one-stage,
# anchor-free), both at 1/4 width on the synthetic shapes, with FGD (focal and global distillation, Yang et al., CVPR
# 2022) on the stride-matched levels: the student's P3-P6 (FPN outputs 1-4) against the teacher's P3-P6 (outputs
# 0-3). FGD's weights follow the student (the reference's two-stage setting, FGDTerm's defaults: the student's
# losses set the scale the terms must match). The paper's head terms need a two-stage teacher: off. The teacher:
# ./pkd_r18-w0.25-fcos-r50-w0.25_fpn_12e_synthetic-coco.py says how it trained.
#   python tools/train.py configs/kd/fgd_r18-w0.25-fcos-r50-w0.25_fpn_12e_synthetic-coco.py
_base_ = './pkd_r18-w0.25-fcos-r50-w0.25_fpn_12e_synthetic-coco.py'

model = dict(
    distill=dict(terms=[dict(type='FGDTerm', pairs=[dict(student=level + 1, teacher=level)
                                                   for level in range(4)])]))
