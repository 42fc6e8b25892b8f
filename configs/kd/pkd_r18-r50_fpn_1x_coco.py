# ResNet-18 + FPN student, ResNet-50 + FPN teacher on COCO (./kd_r18-r50_fpn_1x_coco.py) with PKD on each FPN
# level (256 channels on both sides: no adapter), as MMRazor's R101 -> R50 Faster R-CNN (COCO 38.4 -> 40.3);
# the paper's terms off.
_base_ = './kd_r18-r50_fpn_1x_coco.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[
            dict(type='PearsonDistillationTerm', loss_weight=6.0,
                 pairs=[dict(student=level, teacher=level) for level in range(5)])
        ]))
