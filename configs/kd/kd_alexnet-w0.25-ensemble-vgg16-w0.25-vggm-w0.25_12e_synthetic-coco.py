# Chen et al. (2017) distillation from an ensemble of two teachers (Hinton et al.: "a (set of) large,
# cumbersome model(s)"): AlexNet (1/4 width) student, VGG16 and VGG-M (1/4 width) teachers trained on the
# same synthetic shapes:
#   python tools/train.py configs/faster_rcnn/faster-rcnn_vgg16-w0.25_12e_synthetic-coco.py
#   python tools/train.py configs/faster_rcnn/faster-rcnn_vggm-w0.25_12e_synthetic-coco.py
#   python tools/train.py configs/kd/kd_alexnet-w0.25-ensemble-vgg16-w0.25-vggm-w0.25_12e_synthetic-coco.py
# The RPN and RCN terms compare the student with the weighted mean of the two teachers' probabilities and
# deltas (with distill.ensemble_reg='best': per box the closer teacher's deltas); the hint has one conv5 pair and
# one 1x1 adapter per teacher, and logs their weighted sum as loss_hint. Checkpoints on the command line:
#   --cfg-options model.teacher.0.checkpoint=A.pth model.teacher.1.checkpoint=B.pth
_base_ = './kd_alexnet-w0.25-vgg16-w0.25_12e_synthetic-coco.py'

model = dict(
    teacher=[
        dict(config='{{fileDirname}}/../faster_rcnn/faster-rcnn_vgg16-w0.25_12e_synthetic-coco.py',
             checkpoint='work_dirs/faster-rcnn_vgg16-w0.25_12e_synthetic-coco/epoch_12.pth', weight=0.5),
        dict(config='{{fileDirname}}/../faster_rcnn/faster-rcnn_vggm-w0.25_12e_synthetic-coco.py',
             checkpoint='work_dirs/faster-rcnn_vggm-w0.25_12e_synthetic-coco/epoch_12.pth', weight=0.5),
    ])
