# BCCD (blood cells, 364 real microscope images, 640x480, RBC / WBC / Platelets, MIT licence) in its VOC layout:
#   git clone https://github.com/Shenggan/BCCD_Dataset && ln -s $PWD/BCCD_Dataset/BCCD data/BCCD
# (or pass --cfg-options with the three data_root keys below pointing at your copy). Trained on `trainval`
# (292 images), evaluated on `test` (72 images) with VOC07 11-point mAP@0.5 under the dataset's own class names.
# Images are resized to 320x240 (half size): Platelets are then about 15 px.
# The dataloaders are `bccd.*` variables: a model config that already inherits a dataset (e.g. the synthetic
# ones) takes them with `train_dataloader = {{_base_.bccd.train_dataloader}}` and so on; `_delete_=True`
# inside each dataset drops the inherited dataset's keys.
bccd_root = 'data/BCCD/'
bccd_classes = ('RBC', 'WBC', 'Platelets')
bccd_scale = (320, 240)
bccd_train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=bccd_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
bccd_test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='Resize', scale=bccd_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
bccd = dict(
    train_dataloader=dict(
        batch_size=4,
        num_workers=0,
        persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=True),
        batch_sampler=dict(type='AspectRatioBatchSampler'),
        dataset=dict(
            _delete_=True,
            type='CustomVOCDataset',
            data_root=bccd_root,
            ann_file='ImageSets/Main/trainval.txt',
            data_prefix=dict(sub_data_root=''),
            metainfo=dict(classes=bccd_classes),
            filter_cfg=dict(filter_empty_gt=True, min_size=32),
            pipeline=bccd_train_pipeline,
            backend_args=None)),
    val_dataloader=dict(
        batch_size=1,
        num_workers=0,
        persistent_workers=False,
        drop_last=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(
            _delete_=True,
            type='CustomVOCDataset',
            data_root=bccd_root,
            ann_file='ImageSets/Main/test.txt',
            data_prefix=dict(sub_data_root=''),
            metainfo=dict(classes=bccd_classes),
            test_mode=True,
            pipeline=bccd_test_pipeline,
            backend_args=None)),
    val_evaluator=[dict(type='VOCMetric', metric='mAP', eval_mode='11points')])
