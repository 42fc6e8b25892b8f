# Teacher on BCCD (real blood-cell images, configs/_base_/datasets/bccd.py): the synthetic VGG16 at 1/4 width
# (2.76 M params, from scratch, 320x240) with 3 classes. The commands in ./README.md set the 24-epoch schedule
# the measured results used.
_base_ = ['../faster_rcnn/faster-rcnn_vgg16-w0.25_12e_synthetic-coco.py', '../_base_/datasets/bccd.py']

model = dict(roi_head=dict(bbox_head=dict(num_classes=3)))
train_dataloader = {{_base_.bccd.train_dataloader}}
val_dataloader = {{_base_.bccd.val_dataloader}}
test_dataloader = val_dataloader
val_evaluator = {{_base_.bccd.val_evaluator}}
test_evaluator = val_evaluator
