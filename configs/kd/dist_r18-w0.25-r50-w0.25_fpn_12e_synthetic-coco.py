# Synthetic shapes, ResNet-18 + FPN student, ResNet-50 + FPN teacher, both at 1/4 width
# (./kd_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py) with DIST (Huang et al. 2022) on the RoI heads' class
# logits of the student's sampled RoIs instead of the paper's terms; the DIST authors' detection weights
# (beta 1, gamma 1, loss_weight 1, tau 1: see ./dist_r18-r50_fpn_1x_coco.py), untuned here.
_base_ = './kd_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[dict(type='DISTTerm', loss_weight=1.0, tau=1.0, inter_weight=1.0, intra_weight=1.0)]))
