# Synthetic shapes, ResNet-18 + FPN student, ResNet-50 + FPN teacher, both 1/4 width
# (./kd_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py), with FBKD (Zhang & Ma 2021) on P2-P5, the levels and non-
# local settings of MMRazor's R101 -> R50 Faster R-CNN (configs/distill/mmdet/fbkd/fbkd_fpn_faster-rcnn_r101_
# faster-rcnn_r50_1x_coco.py: neck.fpn_convs.0-3, non-local reduction 4, 4, 2, 2 and max-pool stride 8, 4, 2, 2,
# after MMCV's own pooling by 2: windows 16, 8, 4, 4; FBKDLoss's default weights); 64 channels on both sides; the
# paper's terms off.
_base_ = './kd_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[
            dict(type='FBKDTerm', reduction=[4, 4, 2, 2], maxpool_stride=[16, 8, 4, 4],
                 pairs=[dict(student=level, teacher=level) for level in range(4)])
        ]))
