# Chen et al. (2017) on PASCAL VOC 2007: VGG-M student, VGG16 teacher
# (paper, Table 1: 59.8 -> 63.7 mAP).
_base_ = '../faster_rcnn/faster-rcnn_vggm_1x_voc07.py'

model = dict(
    type='KDFasterRCNN',
    teacher=dict(config='{{fileDirname}}/../faster_rcnn/faster-rcnn_vgg16_1x_voc07.py',
                 checkpoint='work_dirs/faster-rcnn_vgg16_1x_voc07/epoch_12.pth'),
    distill=dict(hints=[dict(student=0, teacher=0, adapter='conv1x1', align='pad')]))

custom_hooks = [
    dict(type='DistillationScheduleHook'),
    dict(type='TeacherEvaluationHook'),
    dict(type='DistillationDiagnosticsHook'),  # every 100 iters: grad shares, teacher vs student, gates
]
