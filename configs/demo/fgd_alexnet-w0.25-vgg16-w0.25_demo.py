# The demo's pair (AlexNet-w0.25 student, VGG16-w0.25 teacher) with FGD (focal and global distillation, Yang et al.,
# CVPR 2022; FGDTerm's defaults: the reference's two-stage weights) between the student's conv5 and the teacher's
# conv5_3 (64 -> 128 channels: a 1x1 conv, the reference's align), resampled to the teacher's map: FGD refuses
# 'centre', its attention and context are softmaxes over every cell. The paper's terms off. A method of the demo's
# screen on any data: `tools/demo.py --methods paper configs/demo/fgd_alexnet-w0.25-vgg16-w0.25_demo.py ...` (the
# demo sets the data and classes; ../bccd/fgd_*.py is the same method on BCCD for tools/train.py).
_base_ = './kd_alexnet-w0.25-vgg16-w0.25_hint10-centre_demo.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[dict(type='FGDTerm', pairs=[dict(student=0, teacher=0, align='resample')])]))
