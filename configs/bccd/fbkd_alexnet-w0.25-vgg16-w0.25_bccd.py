# BCCD, AlexNet-w0.25 student, VGG16-w0.25 teacher, with FBKD (feature-based KD with non-local modules, Zhang & Ma,
# ICLR 2021; FBKDTerm's defaults: MMRazor's FBKDLoss weights, non-local reduction 2 and pooling window 4 as its FPN
# config's stride-16 level, P4) between the student's conv5 and the teacher's conv5_3, resampled to the teacher's
# map (FBKD refuses 'centre': its losses pool over every position). The paper's terms off. Pass the teacher's
# checkpoint with --cfg-options model.teacher.checkpoint=...
_base_ = './kd_alexnet-w0.25-vgg16-w0.25_hint3-centre_bccd.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[dict(type='FBKDTerm', pairs=[dict(student=0, teacher=0, align='resample')])]))
