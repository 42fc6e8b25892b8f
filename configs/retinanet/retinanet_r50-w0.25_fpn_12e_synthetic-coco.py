# RetinaNet ResNet-50 + FPN at 1/4 width (base_channels=16: 64-512 backbone channels, a 64-channel FPN and head),
# trained from scratch on the synthetic shapes (CPU demo): a teacher of another architecture (one-stage, P3-P7)
# for the Faster R-CNN R18 + FPN student (P2-P6). The model is MMDetection's own, named by its config name
# (`mmdet::`), with the changes of ../faster_rcnn/faster-rcnn_r50-w0.25_fpn_12e_synthetic-coco.py: no ImageNet
# weights, nothing frozen, BatchNorm in training mode. Learning rate 0.01 (MMDetection's RetinaNet rate; the
# synthetic schedule's 0.02 is for the two-stage models). It trains poorly at this size from scratch (on the FPN
# bench's data, VOC07 mAP 8.8 after 24 epochs, 10.2 after 48; with anchors from 16 px 8.8 after 48; on the demo's
# data 0.0 after 12): below the R18 student alone, so the measured heterogeneous pair uses
# ../fcos/fcos_r50-w0.25_fpn_gn-head_12e_synthetic-coco.py (19.9 after 48 epochs).
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py', '../_base_/datasets/synthetic_coco.py',
    '../_base_/schedules/schedule_synthetic_12e.py', '../_base_/default_runtime.py'
]

model = dict(
    backbone=dict(base_channels=16, frozen_stages=-1, norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=64),
    bbox_head=dict(num_classes=5, in_channels=64, feat_channels=64))

optim_wrapper = dict(optimizer=dict(lr=0.01))
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='SafeCheckpointHook', interval=1, max_keep_ckpts=3))
