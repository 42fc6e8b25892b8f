# Synthetic shapes, ResNet-18 + FPN student, ResNet-50 + FPN teacher, both 1/4 width
# (./kd_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py), with masked generative distillation (MGD, Yang et al.
# 2022) on P2-P5, the levels the authors distil for Faster R-CNN (yzd-v/MGD det/configs/distillers/mgd/
# cascade_mask_rcnn_rx101_32x4d_distill_faster_rcnn_r50_fpn_2x_coco.py: neck.fpn_convs.0-3, alpha_mgd 5e-7,
# lambda_mgd 0.45); 64 channels on both sides: no adapter; one generator per level. The paper's terms off.
_base_ = './kd_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[
            dict(type='MGDTerm', alpha_mgd=5e-7, lambda_mgd=0.45,
                 pairs=[dict(student=level, teacher=level) for level in range(4)])
        ]))
