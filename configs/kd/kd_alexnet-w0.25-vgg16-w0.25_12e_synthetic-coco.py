# Chen et al. (2017) distillation: AlexNet (1/4 width) student, VGG16 (1/4 width) teacher, synthetic shapes.
# The student is the plain AlexNet config; the teacher is a trained VGG16 run of the same dataset:
#   python tools/train.py configs/faster_rcnn/faster-rcnn_vgg16-w0.25_12e_synthetic-coco.py
#   python tools/train.py configs/kd/kd_alexnet-w0.25-vgg16-w0.25_12e_synthetic-coco.py
# The paper's defaults (lambda 1, gamma 0.5, nu 0.5, w_bg 1.5, T 1, mu 0.5, m 0) come from KDFasterRCNN.
_base_ = '../faster_rcnn/faster-rcnn_alexnet-w0.25_12e_synthetic-coco.py'

model = dict(
    type='KDFasterRCNN',
    teacher=dict(config='{{fileDirname}}/../faster_rcnn/faster-rcnn_vgg16-w0.25_12e_synthetic-coco.py',
                 checkpoint='work_dirs/faster-rcnn_vgg16-w0.25_12e_synthetic-coco/epoch_12.pth'),
    # Hint: the student's conv5 (the map feeding its RPN) guided by the teacher's conv5_3, through a 1x1
    # adaptation layer; RPN and RCN soft targets and bounds from the teacher on the same anchors / RoIs.
    distill=dict(hints=[dict(student=0, teacher=0, adapter='conv1x1', align='pad')]))

custom_hooks = [
    dict(type='DistillationScheduleHook'),  # constant weights; warm-up / decay / stop_epoch optional
    dict(type='TeacherEvaluationHook'),  # logs the teacher's mAP before training
    dict(type='DistillationDiagnosticsHook'),  # every 100 iters: grad shares, teacher vs student, gates
]
