# KITTI 2D object detection: the common 3712 / 3769 train / val split of the training set (split files
# `ImageSets/train.txt`, `ImageSets/val.txt` as used by mmdet3d), Car / Pedestrian / Cyclist.
# Images (about 1242x375) are resized so that the short side is 600, as for VOC and COCO in the paper.
# Evaluation: the devkit's 2D AP, Easy / Moderate / Hard, R11 and R40 (KittiMetric).
dataset_type = 'KittiDataset'
data_root = 'data/kitti/'
backend_args = None
image_scale = (2000, 600)

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
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/train.txt',
        data_prefix=dict(img='training/image_2', ann='training/label_2'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageSets/val.txt',
        data_prefix=dict(img='training/image_2', ann='training/label_2'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

val_evaluator = dict(type='KittiMetric', label_dir=data_root + 'training/label_2')
test_evaluator = val_evaluator
