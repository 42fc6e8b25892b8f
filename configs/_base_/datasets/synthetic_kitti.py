# Synthetic shapes in KITTI layout (`python tools/make_synthetic_data.py --out data/synthetic`), evaluated
# with the KITTI devkit's rules (DontCare regions, difficulty levels from truncation / occlusion / height).
# The synthetic classes have no KITTI overlap threshold: they use KittiMetric's default of 0.5.
_base_ = './kitti_2d.py'

dataset_type = 'SyntheticKittiDataset'
data_root = 'data/synthetic/kitti/'
image_scale = (320, 240)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(type=dataset_type, data_root=data_root, filter_cfg=dict(min_size=4), pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(type=dataset_type, data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(type='KittiMetric', label_dir=data_root + 'training/label_2')
test_evaluator = val_evaluator
