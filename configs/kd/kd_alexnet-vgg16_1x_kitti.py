# Chen et al. (2017) on KITTI 2D (3712 -> 3769 split): AlexNet student, VGG16 teacher (paper, Table 1: 55.1 -> 58.3 mAP).
#   python tools/train.py configs/faster_rcnn/faster-rcnn_vgg16_1x_kitti.py        # the teacher
#   python tools/train.py configs/kd/kd_alexnet-vgg16_1x_kitti.py                  # the distilled student
# Hint: the student's conv5 (256 channels) guided by the teacher's conv5_3 (512) through a 1x1 adapter; the
# maps differ by a few pixels (padding), so the student's map is padded / cropped to the teacher's.
_base_ = '../faster_rcnn/faster-rcnn_alexnet_1x_kitti.py'

model = dict(
    type='KDFasterRCNN',
    teacher=dict(config='{{fileDirname}}/../faster_rcnn/faster-rcnn_vgg16_1x_kitti.py',
                 checkpoint='work_dirs/faster-rcnn_vgg16_1x_kitti/epoch_12.pth'),
    distill=dict(hints=[dict(student=0, teacher=0, adapter='conv1x1', align='pad')]))

custom_hooks = [
    dict(type='DistillationScheduleHook'),
    dict(type='TeacherEvaluationHook'),
    dict(type='DistillationDiagnosticsHook'),  # every 100 iters: grad shares, teacher vs student, gates
]
