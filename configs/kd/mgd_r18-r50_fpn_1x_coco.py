# ResNet-18 + FPN student, ResNet-50 + FPN teacher on COCO (./kd_r18-r50_fpn_1x_coco.py) with masked generative
# distillation (MGD, Yang et al. 2022) on P2-P5 (256 channels on both sides: no adapter), as the authors' Faster
# R-CNN setting (yzd-v/MGD det/configs/distillers/mgd/cascade_mask_rcnn_rx101_32x4d_distill_faster_rcnn_r50_fpn_2x_
# coco.py: neck.fpn_convs.0-3, alpha_mgd 5e-7, lambda_mgd 0.45; that run also clips gradients at max_norm 35 and
# trains 2x, left out here so that it compares with the 1x baseline); the paper's terms off.
_base_ = './kd_r18-r50_fpn_1x_coco.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[
            dict(type='MGDTerm', alpha_mgd=5e-7, lambda_mgd=0.45,
                 pairs=[dict(student=level, teacher=level) for level in range(4)])
        ]))
