# ResNet-18 + FPN student, ResNet-50 + FPN teacher on COCO (./kd_r18-r50_fpn_1x_coco.py) with FBKD (Zhang & Ma 2021)
# on P2-P5 (256 channels on both sides), as MMRazor's R101 -> R50 Faster R-CNN (COCO 37.4 -> 39.3;
# configs/distill/mmdet/fbkd/fbkd_fpn_faster-rcnn_r101_faster-rcnn_r50_1x_coco.py: neck.fpn_convs.0-3, non-local
# reduction 4, 4, 2, 2 and max-pool stride 8, 4, 2, 2, after MMCV's own pooling by 2: windows 16, 8, 4, 4;
# FBKDLoss's default weights); the paper's terms off.
_base_ = './kd_r18-r50_fpn_1x_coco.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[
            dict(type='FBKDTerm', reduction=[4, 4, 2, 2], maxpool_stride=[16, 8, 4, 4],
                 pairs=[dict(student=level, teacher=level) for level in range(4)])
        ]))
