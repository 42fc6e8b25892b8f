# VGG16 at 1/4 width (16-128 channels) in the paper's Faster R-CNN form, trained from scratch on the
# synthetic shapes (CPU demo). Changes to faster-rcnn_vgg16.py for a from-scratch CPU run: BatchNorm after
# every conv, no ImageNet weights and nothing frozen; RoIAlign in max mode with 7x7 bins (mmcv's RoIPool
# has no CPU kernel); anchors of 16-128 px for the 320x240 images; 256-unit fc6/fc7.
_base_ = [
    '../_base_/models/faster-rcnn_vgg16.py', '../_base_/datasets/synthetic_coco.py',
    '../_base_/schedules/schedule_synthetic_12e.py', '../_base_/default_runtime.py'
]

model = dict(
    # A 320x240 image has 3600 anchors: 1000 go to the proposal NMS (py-faster-rcnn's 12000 / 6000 are for
    # 600x1000 images and make the CPU NMS the slowest step).
    train_cfg=dict(rpn_proposal=dict(nms_pre=1000, max_per_img=300)),
    test_cfg=dict(rpn=dict(nms_pre=1000, max_per_img=300)),
    backbone=dict(widen_factor=0.25, frozen_stages=-1, norm_cfg=dict(type='BN'), init_cfg=None),
    rpn_head=dict(in_channels=128, feat_channels=128, anchor_generator=dict(scales=[1, 2, 4, 8])),
    roi_head=dict(
        bbox_roi_extractor=dict(
            roi_layer=dict(
                _delete_=True, type='RoIAlign', output_size=7, sampling_ratio=0, pool_mode='max',
                aligned=False),
            out_channels=128),
        bbox_head=dict(in_channels=128, fc_out_channels=256, num_classes=5)))

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='SafeCheckpointHook', interval=1, max_keep_ckpts=3))
