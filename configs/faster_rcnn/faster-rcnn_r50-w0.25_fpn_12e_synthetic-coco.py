# ResNet-50 + FPN (modern teacher) at 1/4 width (base_channels=16: 64-512 output channels), trained from
# scratch on the synthetic shapes (CPU demo): no ImageNet weights, nothing frozen, BatchNorm in training mode,
# 64-channel FPN, 256-unit fc head.
_base_ = [
    '../_base_/models/faster-rcnn_r50_fpn.py', '../_base_/datasets/synthetic_coco.py',
    '../_base_/schedules/schedule_synthetic_12e.py', '../_base_/default_runtime.py'
]

model = dict(
    backbone=dict(base_channels=16, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=5)))

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='SafeCheckpointHook', interval=1, max_keep_ckpts=3))
