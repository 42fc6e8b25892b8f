# The paper's Table 2 setting on the synthetic shapes: teacher and student are the same architecture
# (AlexNet-w0.25); the teacher was trained at 320x240, the student learns at 160x120.
#   python tools/demo.py --img-size 320 240 \
#       --teacher configs/faster_rcnn/faster-rcnn_alexnet-w0.25_12e_synthetic-coco.py \
#       --student configs/resolution/faster-rcnn_alexnet-w0.25_160x120_12e_synthetic-coco.py \
#       --kd configs/resolution/kd_alexnet-w0.25-160x120_alexnet-w0.25-320x240_12e_synthetic-coco.py
# The pipeline is the teacher's (320x240, inherited); KDFasterRCNN gives the teacher that batch and the
# student the batch resized by student_input_scale=0.5 (boxes, image shapes and scale factors follow), with
# the 160x120 student's halved anchors: the RPN terms pair student anchor (i, j) with teacher anchor
# (2i, 2j), the teacher's RoI head classifies the student's sampled RoIs scaled x2, the hint resamples the
# adapted student map to the teacher's 2x larger map. Validation during training runs the student at
# 160x120 as well; test the exported student with faster-rcnn_alexnet-w0.25_160x120_12e_synthetic-coco.py.
_base_ = '../faster_rcnn/faster-rcnn_alexnet-w0.25_12e_synthetic-coco.py'

model = dict(
    type='KDFasterRCNN',
    student_input_scale=0.5,
    rpn_head=dict(anchor_generator=dict(scales=[0.5, 1, 2, 4])),  # the 160x120 student's anchors
    teacher=dict(config='{{fileDirname}}/../faster_rcnn/faster-rcnn_alexnet-w0.25_12e_synthetic-coco.py',
                 checkpoint=None),
    distill=dict(hints=[dict(student=0, teacher=0, adapter='conv1x1', align='resample')]))

custom_hooks = [
    dict(type='DistillationScheduleHook'),  # constant weights (the paper's)
    dict(type='TeacherEvaluationHook'),  # logs the teacher's mAP at 320x240 before training
    dict(type='DistillationDiagnosticsHook'),  # every 100 iters: grad shares, teacher vs student, gates
]
