# A second teacher on BCCD (real blood-cell images, configs/_base_/datasets/bccd.py), for the "which teacher?"
# grid (tools/teacher_grid.py, docs/paper_tables.md): the synthetic VGG-M at 1/4 width (1.82 M params, from
# scratch, 320x240) with 3 classes, between the AlexNet student (0.86 M) and the VGG16 teacher (2.76 M).
_base_ = ['../faster_rcnn/faster-rcnn_vggm-w0.25_12e_synthetic-coco.py', '../_base_/datasets/bccd.py']

model = dict(roi_head=dict(bbox_head=dict(num_classes=3)))
train_dataloader = {{_base_.bccd.train_dataloader}}
val_dataloader = {{_base_.bccd.val_dataloader}}
test_dataloader = val_dataloader
val_evaluator = {{_base_.bccd.val_evaluator}}
test_evaluator = val_evaluator
