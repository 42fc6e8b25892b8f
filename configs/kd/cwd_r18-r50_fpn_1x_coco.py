# ResNet-18 + FPN student, ResNet-50 + FPN teacher on COCO (./kd_r18-r50_fpn_1x_coco.py) with channel-wise
# distillation (CWD) on each FPN level (256 channels on both sides: no adapter), as MMRazor's Faster R-CNN
# R101 -> R50 FPN config (configs/distill/mmdet/cwd/cwd_fpn_frcnn_r101_frcnn_r50_1x_coco.py: all 5 levels,
# weight 10, tau 1 per level); the paper's terms off. (The term's default weight 5 is pppppM/mmdetection-
# distiller's RetinaNet config on 4 levels, the code MMRazor's CWD metafile names as converted from.)
_base_ = './kd_r18-r50_fpn_1x_coco.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[
            dict(type='ChannelWiseDistillationTerm', loss_weight=10.0, T=1.0,
                 pairs=[dict(student=level, teacher=level) for level in range(5)])
        ]))
