# Table 2 student: AlexNet on PASCAL VOC 2007 at 344 px, half the teacher's 688 px (paper: AlexNet 53.2 -> 56.7 mAP, teacher 57.2).
# Trains the baseline and tests both students (the distilled one after tools/export_student.py). Anchors
# are halved with the image (64-256 px instead of 128-512 px) so that the student's anchor at feature
# position (i, j) is the 688-px teacher's anchor at (2i, 2j) halved: RPN distillation compares the same boxes.
_base_ = [
    '../_base_/models/faster-rcnn_alexnet.py', '../_base_/datasets/voc07_344px.py',
    'mmdet::_base_/schedules/schedule_1x.py', '../_base_/default_runtime.py'
]

model = dict(
    rpn_head=dict(anchor_generator=dict(scales=[4, 8, 16])),
    roi_head=dict(bbox_head=dict(num_classes=20)))

# lr=0.02 is for 16 images per iteration; the runner scales it to the actual total batch.
auto_scale_lr = dict(enable=True, base_batch_size=16)
