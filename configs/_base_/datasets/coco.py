# COCO 2017 as in the paper: train on train, evaluate on val, short side 600 (long side at most 1000).
_base_ = 'mmdet::_base_/datasets/coco_detection.py'

_train_resize = dict(type='Resize', scale=(1000, 600), keep_ratio=True)
train_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    _train_resize,
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]))
_test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=(1000, 600), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
val_dataloader = dict(dataset=dict(pipeline=_test_pipeline))
test_dataloader = val_dataloader

# proposal_nums=(1, 10, 100): every reported number (AP, AP50, AP75, APs/m/l) then uses the official
# COCO maxDets; mmdet's default (100, 300, 1000) evaluates AP50/AP75/APs/m/l with 1000 detections.
val_evaluator = dict(proposal_nums=(1, 10, 100))
test_evaluator = val_evaluator
