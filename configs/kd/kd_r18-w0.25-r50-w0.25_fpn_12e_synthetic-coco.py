# Chen et al. (2017) on the FPN pair, synthetic shapes (CPU): ResNet-18 + FPN student, ResNet-50 + FPN teacher,
# both at 1/4 width with 64-channel FPNs (./kd_r18-r50_fpn_1x_coco.py at CPU size). One hint pair per FPN level
# (5 levels, 64 channels on both sides, 1x1 adapters); the two RPNs share their anchors; RCN terms on the
# student's sampled RoIs. The teacher is a trained run of the same dataset:
#   python tools/train.py configs/faster_rcnn/faster-rcnn_r50-w0.25_fpn_12e_synthetic-coco.py
#   python tools/train.py configs/kd/kd_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py
# AT / CWD / PKD and FitNets' stages on the same pairs: tools/ablation.py --columns (README, Distillation terms).
_base_ = '../faster_rcnn/faster-rcnn_r18-w0.25_fpn_12e_synthetic-coco.py'

model = dict(
    type='KDFasterRCNN',
    teacher=dict(config='{{fileDirname}}/../faster_rcnn/faster-rcnn_r50-w0.25_fpn_12e_synthetic-coco.py',
                 checkpoint='work_dirs/faster-rcnn_r50-w0.25_fpn_12e_synthetic-coco/epoch_12.pth'),
    distill=dict(hints=[dict(student=level, teacher=level) for level in range(5)]))

custom_hooks = [
    dict(type='DistillationScheduleHook'),
    dict(type='TeacherEvaluationHook'),
    dict(type='DistillationDiagnosticsHook'),  # every 100 iters: grad shares, teacher vs student, gates
]
