# ResNet-18 + FPN student, ResNet-50 + FPN teacher on COCO (./kd_r18-r50_fpn_1x_coco.py) with channel-wise
# distillation (CWD) on each FPN level (256 channels on both sides: no adapter); the paper's terms off.
_base_ = './kd_r18-r50_fpn_1x_coco.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[
            dict(type='ChannelWiseDistillationTerm', loss_weight=5.0, T=1.0,
                 pairs=[dict(student=level, teacher=level) for level in range(5)])
        ]))
