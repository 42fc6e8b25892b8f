# A teacher of another architecture: Faster R-CNN ResNet-18 + FPN student, FCOS ResNet-50 + FPN teacher (one-stage,
# anchor-free), both at 1/4 width on the synthetic shapes, with PKD (Cao et al. 2022: Pearson correlation of
# standardised FPN maps, made for heterogeneous pairs). The student's P3-P6 (FPN outputs 1-4, strides 8-64) against
# the teacher's P3-P6 (outputs 0-3: FCOS's FPN starts at C3), 64 channels on both sides, MMRazor's batch-wide
# standardisation and weight. The paper's head terms need a two-stage teacher (an RPN and an RoI head): off.
# The teacher of the measured pair (docs/terms.md, "Teachers of another architecture") trained 48 epochs:
#   python tools/train.py configs/fcos/fcos_r50-w0.25_fpn_gn-head_12e_synthetic-coco.py --work-dir work_dirs/fcos \
#       --cfg-options train_cfg.max_epochs=48 param_scheduler.1.end=48 "param_scheduler.1.milestones=[36, 44]"
#   python tools/train.py configs/kd/pkd_r18-w0.25-fcos-r50-w0.25_fpn_12e_synthetic-coco.py
_base_ = './kd_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py'

model = dict(
    teacher=dict(config='{{fileDirname}}/../fcos/fcos_r50-w0.25_fpn_gn-head_12e_synthetic-coco.py',
                 checkpoint='work_dirs/fcos/epoch_48.pth'),
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[dict(type='PearsonDistillationTerm', pairs=[dict(student=level + 1, teacher=level)
                                                          for level in range(4)])]))
