# ResNet-18 + FPN student, ResNet-50 + FPN teacher on COCO (./kd_r18-r50_fpn_1x_coco.py) with FGD (focal and
# global distillation, Yang et al., CVPR 2022) on P2-P5, the levels the reference distils (neck.fpn_convs.0-3;
# 256 channels on both sides: no adapter), with the weights of the reference's Faster R-CNN R101 -> R50 config
# (its README's Faster R-CNN R50 student: COCO 38.4 -> 42.0, teacher not named there); the paper's terms off.
_base_ = './kd_r18-r50_fpn_1x_coco.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[
            dict(type='FGDTerm', temp=0.5, alpha_fgd=5e-5, beta_fgd=2.5e-5, gamma_fgd=5e-5, lambda_fgd=5e-7,
                 pairs=[dict(student=level, teacher=level) for level in range(4)])
        ]))
