# VGG16 (the teacher) Faster R-CNN in the paper's form on COCO 2017 (trained on train, evaluated on val, 80
# classes), MMDetection's 1x schedule.
_base_ = [
    '../_base_/models/faster-rcnn_vgg16.py', '../_base_/datasets/coco.py',
    'mmdet::_base_/schedules/schedule_1x.py', '../_base_/default_runtime.py'
]

# lr=0.02 is for 16 images per iteration; the runner scales it to the actual total batch.
auto_scale_lr = dict(enable=True, base_batch_size=16)
