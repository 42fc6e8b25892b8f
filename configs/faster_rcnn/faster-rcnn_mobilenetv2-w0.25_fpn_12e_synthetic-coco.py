# MobileNetV2 + FPN (modern student) at 1/4 width (FPN inputs of 8/8/24 channels; the final 1x1 conv keeps
# its 1280), trained from scratch on the synthetic shapes (CPU demo): no ImageNet weights, BatchNorm in
# training mode, 64-channel FPN, 256-unit fc head.
_base_ = [
    '../_base_/models/faster-rcnn_mobilenetv2_fpn.py', '../_base_/datasets/synthetic_coco.py',
    '../_base_/schedules/schedule_synthetic_12e.py', '../_base_/default_runtime.py'
]

model = dict(
    backbone=dict(widen_factor=0.25, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[8, 8, 24, 1280], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=5)))

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='SafeCheckpointHook', interval=1, max_keep_ckpts=3))
