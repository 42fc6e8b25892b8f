# Tiny Faster R-CNN trained from scratch on the synthetic shapes in PASCAL VOC layout (VOC07 11-point mAP).
_base_ = [
    '../_base_/models/faster-rcnn_tiny-r18.py',
    '../_base_/datasets/synthetic_voc.py',
    '../_base_/schedules/schedule_synthetic_12e.py',
    '../_base_/default_runtime.py',
]

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='SafeCheckpointHook', interval=1, max_keep_ckpts=3))
