# The demo's pair (AlexNet-w0.25 student, VGG16-w0.25 teacher) with MGD (masked generative distillation, Yang et
# al., ECCV 2022; the authors' Faster R-CNN weights, MGDTerm's defaults alpha 5e-7, lambda 0.45) between the
# student's conv5 and the teacher's conv5_3 (a 1x1 conv, the reference's align), resampled to the teacher's map as
# FGD's and FBKD's pairs. The paper's terms off. A method of the demo's screen on any data: `tools/demo.py --methods
# paper configs/demo/mgd_alexnet-w0.25-vgg16-w0.25_demo.py ...` (the demo sets the data and classes;
# ../bccd/mgd_*.py is the same method on BCCD for tools/train.py).
_base_ = './kd_alexnet-w0.25-vgg16-w0.25_hint10-centre_demo.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[dict(type='MGDTerm', pairs=[dict(student=0, teacher=0, align='resample')])]))
