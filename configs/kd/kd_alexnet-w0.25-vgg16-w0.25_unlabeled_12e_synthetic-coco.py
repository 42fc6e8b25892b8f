# The paper's distillation (./kd_alexnet-w0.25-vgg16-w0.25_12e_synthetic-coco.py) on labeled and unlabeled
# images: every batch holds 1 labeled image (data/synthetic/coco/train) for 4 from a folder nobody annotated
# (data/synthetic/unlabeled), whose ground truth is the teacher's own detections on the batch scoring >=
# model.pseudo_label_thr; every distillation term applies to both. With a list of teachers their detections are
# merged by class-wise NMS. A teacher known only by its detections: ./blackbox_*_unlabeled_*.py.
_base_ = './kd_alexnet-w0.25-vgg16-w0.25_12e_synthetic-coco.py'

model = dict(pseudo_label_thr=0.5)

# the unlabeled images' pipeline keeps the `unlabeled` mark (the labeled images keep the base pipeline)
unlabeled_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(320, 240), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                                          'flip_direction', 'unlabeled'))
]
labeled = {{_base_.train_dataloader.dataset}}
unlabeled = dict(type='UnlabeledImageDataset', data_root='data/synthetic/', data_prefix=dict(img='unlabeled/'),
                 metainfo=dict(classes=('ellipse', 'ring', 'rectangle', 'pentagon', 'star')), pipeline=unlabeled_pipeline)
train_dataloader = dict(
    batch_size=5,
    # an epoch is one pass over the labeled images (RatioSampler; MMDetection's multi-source samplers never end)
    sampler=dict(_delete_=True, type='RatioSampler', batch_size=5, source_ratio=[1, 4]),
    batch_sampler=None,
    dataset=dict(_delete_=True, type='ConcatDataset', datasets=[labeled, unlabeled], ignore_keys=['palette']))
