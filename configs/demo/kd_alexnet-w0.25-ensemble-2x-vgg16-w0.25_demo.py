# Demo distillation from an ensemble of two demo teachers (VGG16 at 1/4 width, ./faster-rcnn_vgg16-w0.25_demo.py)
# trained from different seeds, weights 0.5 / 0.5 (Hinton et al.'s ensemble: the same architecture, different
# initialisations). Soft targets: the mean of their probabilities; bounded regression: the mean of their deltas
# (distill.ensemble_reg='best': per box the closer teacher's); one conv5 hint pair and 1x1 adapter per teacher.
# The terms otherwise the demo's (./kd_alexnet-w0.25-vgg16-w0.25_hint10-centre_demo.py: hint gamma 10, aligned
# by receptive-field centres). Measured against each teacher alone by benchmarks/beyond_one_teacher.py. Checkpoints:
#   --cfg-options model.teacher.0.checkpoint=SEED0.pth model.teacher.1.checkpoint=SEED1.pth
# Teachers of different architectures are a list of their configs (see
# ../kd/kd_alexnet-w0.25-ensemble-vgg16-w0.25-vggm-w0.25_12e_synthetic-coco.py).
_base_ = './kd_alexnet-w0.25-vgg16-w0.25_hint10-centre_demo.py'

model = dict(teacher=[
    dict(config='{{fileDirname}}/faster-rcnn_vgg16-w0.25_demo.py', checkpoint=None, weight=0.5),
    dict(config='{{fileDirname}}/faster-rcnn_vgg16-w0.25_demo.py', checkpoint=None, weight=0.5),
])
