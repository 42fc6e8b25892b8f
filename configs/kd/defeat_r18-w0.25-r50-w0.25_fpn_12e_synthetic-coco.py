# ResNet-18 + FPN student, ResNet-50 + FPN teacher at 1/4 width on the synthetic shapes
# (./kd_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py) with DeFeat (decoupled features, Guo et al., CVPR 2021):
# object / background neck imitation on all five FPN outputs (a 3x3 adapter each, as the reference) and the
# decoupled KL on the student's sampled RoIs; the paper's terms off. Weights: the reference's Faster R-CNN config.
_base_ = './kd_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[
            dict(type='DeFeatFeatureTerm', obj_weight=3.0, bg_weight=12.0, level_strides=(4, 8, 16, 32, 64),
                 pairs=[dict(student=level, teacher=level) for level in range(5)]),
            dict(type='DeFeatRoITerm', obj_weight=2.0, bg_weight=2.0, T_obj=1.0, T_bg=1.0),
        ]))
