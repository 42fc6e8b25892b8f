# ResNet-18 + FPN student, ResNet-50 + FPN teacher on COCO (./kd_r18-r50_fpn_1x_coco.py) with attention
# transfer on each FPN level; the paper's terms off.
_base_ = './kd_r18-r50_fpn_1x_coco.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[
            dict(type='AttentionTransferTerm', loss_weight=1000.0, p=2, mode='sum',
                 pairs=[dict(student=level, teacher=level) for level in range(5)])
        ]))
