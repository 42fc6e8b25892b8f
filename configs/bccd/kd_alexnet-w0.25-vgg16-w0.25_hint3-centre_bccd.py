# Distillation on BCCD: AlexNet-w0.25 student, VGG16-w0.25 teacher (./faster-rcnn_vgg16-w0.25_bccd.py; pass
# its checkpoint with --cfg-options model.teacher.checkpoint=...), with the demo's distillation settings: the
# paper's loss with the hint at gamma 3 and centre-aligned (see
# ../demo/kd_alexnet-w0.25-vgg16-w0.25_hint3-centre_demo.py for why).
_base_ = './faster-rcnn_alexnet-w0.25_bccd.py'

model = dict(
    type='KDFasterRCNN',
    teacher=dict(config='{{fileDirname}}/faster-rcnn_vgg16-w0.25_bccd.py', checkpoint=None),
    distill=dict(
        hints=[dict(student=0, teacher=0, adapter='conv1x1', align='centre')],
        loss_hint=dict(loss_weight=3.0)))

custom_hooks = [
    dict(type='DistillationScheduleHook'),  # constant weights (the paper's)
    dict(type='TeacherEvaluationHook'),  # logs the teacher's mAP before training
    dict(type='DistillationDiagnosticsHook'),  # every 100 iters: grad shares, teacher vs student, gates
]
