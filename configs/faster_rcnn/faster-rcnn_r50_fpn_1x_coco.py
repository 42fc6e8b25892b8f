# ResNet-50 + FPN (modern teacher) Faster R-CNN on COCO 2017 (trained on train, evaluated on val, 80
# classes), MMDetection's 1x schedule.
_base_ = [
    '../_base_/models/faster-rcnn_r50_fpn.py', '../_base_/datasets/coco.py',
    'mmdet::_base_/schedules/schedule_1x.py', '../_base_/default_runtime.py'
]

# lr=0.02 is for 16 images per iteration; the runner scales it to the actual total batch.
auto_scale_lr = dict(enable=True, base_batch_size=16)
