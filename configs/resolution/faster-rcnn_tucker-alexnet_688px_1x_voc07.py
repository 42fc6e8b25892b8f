# Table 2 teacher: Tucker-AlexNet in the paper's form on PASCAL VOC 2007 at 688 px (short side).
_base_ = [
    '../_base_/models/faster-rcnn_tucker-alexnet.py', '../_base_/datasets/voc07_688px.py',
    'mmdet::_base_/schedules/schedule_1x.py', '../_base_/default_runtime.py'
]

model = dict(roi_head=dict(bbox_head=dict(num_classes=20)))

# lr=0.02 is for 16 images per iteration; the runner scales it to the actual total batch.
auto_scale_lr = dict(enable=True, base_batch_size=16)
