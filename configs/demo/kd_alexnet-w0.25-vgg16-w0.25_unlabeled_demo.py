# The demo distillation (./kd_alexnet-w0.25-vgg16-w0.25_demo.py) on labeled and unlabeled images: every batch
# holds the demo's 4 labeled images (data/synthetic/coco/train) and 4 more from a folder nobody annotated
# (data/synthetic/unlabeled); an epoch is one pass over the labeled images, so the run takes as many steps as
# the labeled-only one, and each epoch draws anew as many unlabeled images as there are labeled ones (with 4x
# as many unlabeled, each is seen 6 times in 24 epochs on average; ../kd/*_unlabeled_* use 1 labeled : 4
# unlabeled per batch instead). On the unlabeled images the student
# learns from the teacher's hard and soft outputs jointly (Hinton et al.; the seed of issue 14):
#   - both (this config): ground truth = the teacher's detections scoring >= model.pseudo_label_thr, and every
#     distillation term;
#   - soft only: --cfg-options model.pseudo_label_thr=None (no ground truth on them, their hard losses left
#     out: only the distillation terms learn from them);
#   - pseudo-labels only: --cfg-options model.distill.loss_hint=None model.distill.rpn_cls=None
#     model.distill.rpn_reg=None model.distill.rcn_cls=None model.distill.rcn_reg=None (the teacher only
#     labels the unlabeled images).
# Measured by benchmarks/beyond_one_teacher.py (100 labeled images, 400 unlabeled, a teacher trained on the 100).
_base_ = './kd_alexnet-w0.25-vgg16-w0.25_demo.py'

model = dict(pseudo_label_thr=0.5)

unlabeled_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale={{_base_.image_scale}}, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                                          'flip_direction', 'unlabeled'))
]
labeled = {{_base_.train_dataloader.dataset}}
unlabeled = dict(type='UnlabeledImageDataset', data_root='data/synthetic/', data_prefix=dict(img='unlabeled/'),
                 metainfo=dict(classes=('ellipse', 'ring', 'rectangle', 'pentagon', 'star')),
                 pipeline=unlabeled_pipeline)
train_dataloader = dict(
    batch_size=8,
    sampler=dict(_delete_=True, type='RatioSampler', batch_size=8, source_ratio=[4, 4]),
    batch_sampler=None,
    dataset=dict(_delete_=True, type='ConcatDataset', datasets=[labeled, unlabeled], ignore_keys=['palette']))
