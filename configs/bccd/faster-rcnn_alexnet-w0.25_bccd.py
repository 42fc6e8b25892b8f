# Student and baseline on BCCD (configs/_base_/datasets/bccd.py): the synthetic AlexNet at 1/4 width (0.86 M
# params, from scratch, 320x240) with 3 classes.
_base_ = ['../faster_rcnn/faster-rcnn_alexnet-w0.25_12e_synthetic-coco.py', '../_base_/datasets/bccd.py']

model = dict(roi_head=dict(bbox_head=dict(num_classes=3)))
train_dataloader = {{_base_.bccd.train_dataloader}}
val_dataloader = {{_base_.bccd.val_dataloader}}
test_dataloader = val_dataloader
val_evaluator = {{_base_.bccd.val_evaluator}}
test_evaluator = val_evaluator
