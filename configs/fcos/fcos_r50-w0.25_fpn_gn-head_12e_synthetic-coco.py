# FCOS ResNet-50 + FPN at 1/4 width (base_channels=16: 64-512 backbone channels, a 64-channel FPN and head), trained
# from scratch on the synthetic shapes (CPU demo): an anchor-free one-stage teacher (P3-P7) for the Faster R-CNN
# R18 + FPN student (P2-P6). MMDetection's FCOS with its improvements (centre sampling, boxes normalised by the
# stride, centre-ness on the regression branch, GIoU loss, NMS at 0.6:
# `mmdet::fcos/fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py`), with the changes of
# ../faster_rcnn/faster-rcnn_r50-w0.25_fpn_12e_synthetic-coco.py: a PyTorch-style ResNet without ImageNet weights
# (the reference's is Caffe-style, from Detectron weights), nothing frozen, BatchNorm in training mode, the
# torchvision mean / std. Learning rate 0.01 (MMDetection's FCOS rate; the synthetic schedule's 0.02 is for the
# two-stage models), FCOS's doubled bias rate without decay on the biases.
_base_ = [
    '../_base_/datasets/synthetic_coco.py', '../_base_/schedules/schedule_synthetic_12e.py',
    '../_base_/default_runtime.py'
]

model = dict(
    type='FCOS',
    data_preprocessor=dict(
        type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet', depth=50, base_channels=16, num_stages=4, out_indices=(0, 1, 2, 3), frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True), norm_eval=False, style='pytorch', init_cfg=None),
    neck=dict(
        type='FPN', in_channels=[64, 128, 256, 512], out_channels=64, start_level=1, add_extra_convs='on_output',
        num_outs=5, relu_before_extra_convs=True),
    bbox_head=dict(
        type='FCOSHead', num_classes=5, in_channels=64, stacked_convs=4, feat_channels=64,
        strides=[8, 16, 32, 64, 128], norm_on_bbox=True, centerness_on_reg=True, dcn_on_last_conv=False,
        center_sampling=True, conv_bias=True,
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.6),
                  max_per_img=100))

optim_wrapper = dict(optimizer=dict(lr=0.01), paramwise_cfg=dict(bias_lr_mult=2., bias_decay_mult=0.))
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='SafeCheckpointHook', interval=1, max_keep_ckpts=3))
