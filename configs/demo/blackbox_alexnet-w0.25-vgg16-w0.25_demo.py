# Demo distillation from a black-box teacher: the demo student (AlexNet at 1/4 width, 256x192) learns from the
# labeled images plus the demo teacher's detections in a results file (tools/pseudo_label.py), no teacher
# weights loaded: the soft classification term of the student's sampled RoIs against the class-probability
# vector of the teacher detection they overlap (IoU >= 0.5), mu 0.5, w_bg 1.5, T 1 as the paper's RCN term.
# Measured against the white-box ./kd_alexnet-w0.25-vgg16-w0.25_demo.py by benchmarks/beyond_one_teacher.py.
#   python tools/pseudo_label.py configs/demo/faster-rcnn_vgg16-w0.25_demo.py TEACHER.pth \
#       --images data/synthetic/coco/train --out teacher_results.json
#   python tools/train.py configs/demo/blackbox_alexnet-w0.25-vgg16-w0.25_demo.py \
#       --cfg-options model.teacher.results=teacher_results.json
_base_ = './faster-rcnn_alexnet-w0.25_demo.py'

model = dict(
    type='BlackBoxKDFasterRCNN',
    teacher=dict(results=None, iou_thr=0.5, pseudo_label_thr=0.5),
    distill=dict(rcn_cls=dict(type='WeightedSoftCrossEntropyLoss', mu=0.5, bg_weight=1.5, T=1.0)))

# The teacher's boxes are mapped into each augmented image with the pipeline's homography_matrix.
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale={{_base_.image_scale}}, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                                          'flip_direction', 'homography_matrix', 'unlabeled'))
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
custom_hooks = [dict(type='DistillationScheduleHook')]
