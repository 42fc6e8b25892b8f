# Synthetic shapes in PASCAL VOC layout (`python tools/make_synthetic_data.py --out data/synthetic`),
# VOC07 11-point mAP@0.5; `difficult` objects are ignored as in VOC.
_base_ = './voc07.py'

dataset_type = 'SyntheticVOCDataset'
data_root = 'data/synthetic/voc/'
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
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='VOC2007/ImageSets/Main/train.txt',
                 filter_cfg=dict(min_size=4, bbox_min_size=4), pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='VOC2007/ImageSets/Main/val.txt',
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
