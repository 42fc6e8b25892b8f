# The demo's pair (AlexNet-w0.25 student, VGG16-w0.25 teacher) with FBKD (feature-based KD with non-local modules,
# Zhang & Ma, ICLR 2021; FBKDTerm's defaults: MMRazor's FBKDLoss weights, non-local reduction 2, pooling window 4: P4's)
# between the student's conv5 and the teacher's conv5_3, resampled to the teacher's map (FBKD refuses 'centre': its
# losses pool over every position). The paper's terms off. A method of the demo's screen on any data: `tools/demo.py
# --methods paper configs/demo/fbkd_alexnet-w0.25-vgg16-w0.25_demo.py ...` (the demo sets the data and classes;
# ../bccd/fbkd_*.py is the same method on BCCD for tools/train.py).
_base_ = './kd_alexnet-w0.25-vgg16-w0.25_hint10-centre_demo.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[dict(type='FBKDTerm', pairs=[dict(student=0, teacher=0, align='resample')])]))
