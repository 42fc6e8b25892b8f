# Synthetic shapes in COCO format, written by `python tools/make_synthetic_data.py --out data/synthetic`.
dataset_type = 'SyntheticCocoDataset'
data_root = 'data/synthetic/coco/'
backend_args = None
image_scale = (320, 240)

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=4),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=1,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

# Two metrics in one pass over the same images: COCO AP and PASCAL VOC07 11-point mAP@0.5 (the paper's
# PASCAL metric); "don't care" regions (COCO iscrowd) are ignored by both.
# proposal_nums=(1, 10, 100) makes every reported COCO number use the official maxDets (mmdet's default
# (100, 300, 1000) silently evaluates AP50/AP75/APs/m/l with 1000 detections per image).
val_evaluator = [
    dict(
        type='CocoMetric',
        ann_file=data_root + 'annotations/instances_val.json',
        metric='bbox',
        proposal_nums=(1, 10, 100),
        format_only=False,
        backend_args=backend_args),
    dict(type='VOCMetric', metric='mAP', eval_mode='11points'),
]
test_evaluator = val_evaluator
