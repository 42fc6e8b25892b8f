# Tucker-AlexNet at 1/4 width in the paper's Faster R-CNN form, trained from scratch on the synthetic
# shapes (CPU demo): the 1/4-width AlexNet of faster-rcnn_alexnet-w0.25_12e_synthetic-coco.py with
# conv2-conv5 Tucker-2 decomposed to 37.4% of its backbone FLOPs at a 240x320 input
# (det_kd.compression.select_tucker_ranks, uniform ranks; conv1 intact). Same CPU-demo changes as that
# config: BatchNorm after every conv, RoIAlign in max mode (6x6), anchors of 16-128 px, 256-unit fc6/fc7.
_base_ = [
    '../_base_/models/faster-rcnn_tucker-alexnet.py', '../_base_/datasets/synthetic_coco.py',
    '../_base_/schedules/schedule_synthetic_12e.py', '../_base_/default_runtime.py'
]

model = dict(
    # A 320x240 image has 3600 anchors: 1000 go to the proposal NMS (py-faster-rcnn's 12000 / 6000 are for
    # 600x1000 images and make the CPU NMS the slowest step).
    train_cfg=dict(rpn_proposal=dict(nms_pre=1000, max_per_img=300)),
    test_cfg=dict(rpn=dict(nms_pre=1000, max_per_img=300)),
    backbone=dict(
        widen_factor=0.25,
        frozen_stages=-1,
        norm_cfg=dict(type='BN'),
        tucker_ranks=dict(_delete_=True, conv2=(3, 9), conv3=(9, 19), conv4=(19, 13), conv5=(13, 13)),
        init_cfg=None),
    rpn_head=dict(in_channels=64, feat_channels=64, anchor_generator=dict(scales=[1, 2, 4, 8])),
    roi_head=dict(
        bbox_roi_extractor=dict(
            roi_layer=dict(
                _delete_=True, type='RoIAlign', output_size=6, sampling_ratio=0, pool_mode='max',
                aligned=False),
            out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=5)))

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='SafeCheckpointHook', interval=1, max_keep_ckpts=3))
