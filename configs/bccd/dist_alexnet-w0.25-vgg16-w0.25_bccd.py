# BCCD, AlexNet-w0.25 student, VGG16-w0.25 teacher, with DIST (Huang et al., NeurIPS 2022) on the RoI heads'
# class logits of the student's sampled RoIs (the teacher's head run on them, as the paper's RCN terms), the
# DIST authors' detection weights (beta 1, gamma 1, loss_weight 1, tau 1), instead of the paper's terms. Pass the
# teacher's checkpoint with --cfg-options model.teacher.checkpoint=...
_base_ = './kd_alexnet-w0.25-vgg16-w0.25_hint3-centre_bccd.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[dict(type='DISTTerm')]))
