# VGG-M Faster R-CNN in the paper's form on KITTI 2D: the 3712 / 3769 train / val split of the
# training set, Car / Pedestrian / Cyclist, devkit AP (Easy / Moderate / Hard, R11 and R40). 12 epochs of
# MMDetection's 1x schedule.
_base_ = [
    '../_base_/models/faster-rcnn_vggm.py', '../_base_/datasets/kitti_2d.py',
    'mmdet::_base_/schedules/schedule_1x.py', '../_base_/default_runtime.py'
]

model = dict(roi_head=dict(bbox_head=dict(num_classes=3)))

# lr=0.02 is for 16 images per iteration; the runner scales it to the actual total batch.
auto_scale_lr = dict(enable=True, base_batch_size=16)
