# AlexNet Faster R-CNN in the paper's form on PASCAL VOC 2007: trained on trainval, tested on test (20
# classes, 11-point mAP). 12 epochs of MMDetection's 1x schedule: about 60k images, like the 70k single-
# image iterations of py-faster-rcnn.
_base_ = [
    '../_base_/models/faster-rcnn_alexnet.py', '../_base_/datasets/voc07.py',
    'mmdet::_base_/schedules/schedule_1x.py', '../_base_/default_runtime.py'
]

model = dict(roi_head=dict(bbox_head=dict(num_classes=20)))

# lr=0.02 is for 16 images per iteration; the runner scales it to the actual total batch.
auto_scale_lr = dict(enable=True, base_batch_size=16)
