# Chen et al. (2017), Table 2 on PASCAL VOC 2007: AlexNet student at 344 px distilled from the same
# architecture at 688 px (paper: AlexNet 53.2 -> 56.7 mAP, teacher 57.2).
#   python tools/train.py configs/resolution/faster-rcnn_alexnet_688px_1x_voc07.py   # the teacher
#   python tools/train.py configs/resolution/kd_alexnet-344px_alexnet-688px_1x_voc07.py
#   python tools/export_student.py work_dirs/kd_alexnet-344px_alexnet-688px_1x_voc07/epoch_12.pth --out student.pth
#   python tools/test.py configs/resolution/faster-rcnn_alexnet_344px_1x_voc07.py student.pth
# The pipeline is the teacher's (688 px, inherited); KDFasterRCNN gives the student the batch at half size
# (student_input_scale=0.5) with the 344-px student's halved anchors (faster-rcnn_alexnet_344px_1x_voc07.py),
# so the teacher sees the real 688-px image, not an upsampled 344-px one.
_base_ = './faster-rcnn_alexnet_688px_1x_voc07.py'

model = dict(
    type='KDFasterRCNN',
    student_input_scale=0.5,
    rpn_head=dict(anchor_generator=dict(scales=[4, 8, 16])),  # the 344-px student's anchors
    teacher=dict(config='{{fileDirname}}/faster-rcnn_alexnet_688px_1x_voc07.py',
                 checkpoint='work_dirs/faster-rcnn_alexnet_688px_1x_voc07/epoch_12.pth'),
    distill=dict(hints=[dict(student=0, teacher=0, adapter='conv1x1', align='resample')]))

custom_hooks = [
    dict(type='DistillationScheduleHook'),
    dict(type='TeacherEvaluationHook'),
    dict(type='DistillationDiagnosticsHook'),  # every 100 iters: grad shares, teacher vs student, gates
]
