# ResNet-18 + FPN student, ResNet-50 + FPN teacher on COCO (./kd_r18-r50_fpn_1x_coco.py) with PKD on FPN levels
# 0-3 (256 channels on both sides: no adapter), as MMRazor's R101 -> R50 Faster R-CNN
# (configs/distill/mmdet/pkd/pkd_fpn_faster-rcnn_r101_faster-rcnn_r50_2x_coco.py: PKDLoss weight 6 on levels 0-3,
# each channel standardised over the batch, COCO 38.4 -> 40.3 with a 2x schedule); the paper's terms off.
_base_ = './kd_r18-r50_fpn_1x_coco.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[
            dict(type='PearsonDistillationTerm', loss_weight=6.0, normalize='batch',
                 pairs=[dict(student=level, teacher=level) for level in range(4)])
        ]))
