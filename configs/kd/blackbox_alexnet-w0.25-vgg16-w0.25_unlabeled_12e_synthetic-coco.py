# The black-box distillation (./blackbox_alexnet-w0.25-vgg16-w0.25_12e_synthetic-coco.py) with unlabeled images
# too: every batch holds 1 labeled image (data/synthetic/coco/train) for 4 from a folder nobody annotated
# (data/synthetic/unlabeled), whose ground truth is the teacher's detections scoring >= pseudo_label_thr; the
# soft term applies on both. The results file must cover both folders:
#   python tools/pseudo_label.py TEACHER_CONFIG TEACHER.pth --images data/synthetic --out work_dirs/teacher_results_synthetic.json
_base_ = './blackbox_alexnet-w0.25-vgg16-w0.25_12e_synthetic-coco.py'

labeled = {{_base_.train_dataloader.dataset}}
unlabeled = dict(type='UnlabeledImageDataset', data_root='data/synthetic/', data_prefix=dict(img='unlabeled/'),
                 metainfo=dict(classes=('ellipse', 'ring', 'rectangle', 'pentagon', 'star')),
                 pipeline={{_base_.train_pipeline}})
train_dataloader = dict(
    batch_size=5,
    # an epoch is one pass over the labeled images (RatioSampler; MMDetection's multi-source samplers never end)
    sampler=dict(_delete_=True, type='RatioSampler', batch_size=5, source_ratio=[1, 4]),
    batch_sampler=None,
    dataset=dict(_delete_=True, type='ConcatDataset', datasets=[labeled, unlabeled], ignore_keys=['palette']))
