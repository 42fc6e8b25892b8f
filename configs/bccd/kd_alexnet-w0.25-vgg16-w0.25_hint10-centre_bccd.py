# Distillation on BCCD with the demo's default distillation settings: the centre-aligned hint at gamma 10
# (../demo/kd_alexnet-w0.25-vgg16-w0.25_hint10-centre_demo.py; the gamma-3 variant is
# ./kd_alexnet-w0.25-vgg16-w0.25_hint3-centre_bccd.py). Pass the teacher's checkpoint with
# --cfg-options model.teacher.checkpoint=...
_base_ = './kd_alexnet-w0.25-vgg16-w0.25_hint3-centre_bccd.py'

model = dict(distill=dict(loss_hint=dict(loss_weight=10.0)))
