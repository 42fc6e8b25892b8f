# Distillation from a black-box teacher: the AlexNet (1/4 width) student learns from the labeled synthetic
# images plus a VGG16-w0.25 teacher's detections in a results file; no teacher weights are loaded and no teacher
# runs during training (BlackBoxKDFasterRCNN: soft classification of the student's sampled RoIs against the
# class-probability vector of the teacher detection they overlap).
#   python tools/pseudo_label.py configs/faster_rcnn/faster-rcnn_vgg16-w0.25_12e_synthetic-coco.py TEACHER.pth \
#       --images data/synthetic/coco/train --out work_dirs/teacher_results_synthetic.json
#   python tools/train.py configs/kd/blackbox_alexnet-w0.25-vgg16-w0.25_12e_synthetic-coco.py
# The file can come from any detector that writes the same format (det_kd/models/distillation/teacher_results.py).
_base_ = '../faster_rcnn/faster-rcnn_alexnet-w0.25_12e_synthetic-coco.py'

model = dict(
    type='BlackBoxKDFasterRCNN',
    teacher=dict(results='work_dirs/teacher_results_synthetic.json', iou_thr=0.5, pseudo_label_thr=0.5),
    distill=dict(rcn_cls=dict(type='WeightedSoftCrossEntropyLoss', mu=0.5, bg_weight=1.5, T=1.0)))

# The teacher's boxes are mapped into each augmented image with the pipeline's homography_matrix.
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(320, 240), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                                          'flip_direction', 'homography_matrix', 'unlabeled'))
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
custom_hooks = [dict(type='DistillationScheduleHook')]
