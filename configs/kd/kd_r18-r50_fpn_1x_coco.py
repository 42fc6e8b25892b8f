# Chen et al. (2017) on modern detectors, COCO: ResNet-18 + FPN student, ResNet-50 + FPN teacher.
# One hint pair per FPN level (5 levels, 256 channels each, 1x1 adapters); the two RPNs share anchors.
_base_ = '../faster_rcnn/faster-rcnn_r18_fpn_1x_coco.py'

model = dict(
    type='KDFasterRCNN',
    teacher=dict(config='{{fileDirname}}/../faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
                 checkpoint='work_dirs/faster-rcnn_r50_fpn_1x_coco/epoch_12.pth'),
    distill=dict(hints=[dict(student=level, teacher=level) for level in range(5)]))

custom_hooks = [
    dict(type='DistillationScheduleHook'),
    dict(type='TeacherEvaluationHook'),
    dict(type='DistillationDiagnosticsHook'),  # every 100 iters: grad shares, teacher vs student, gates
]
