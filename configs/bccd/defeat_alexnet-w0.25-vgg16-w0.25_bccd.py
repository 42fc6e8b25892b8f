# BCCD, AlexNet-w0.25 student, VGG16-w0.25 teacher, with DeFeat (decoupled features, Guo et al., CVPR 2021;
# the reference's Faster R-CNN weights): object / background imitation between the student's conv5 and the
# teacher's conv5_3 (a 3x3 adapter, the reference's neck_adapt; centre-aligned as the demo's hint, the cells the
# adapter cannot fill left out; every box on the one stride-16 map) and the decoupled KL on the student's sampled
# RoIs; the paper's terms off. Pass the teacher's checkpoint with --cfg-options model.teacher.checkpoint=...
_base_ = './kd_alexnet-w0.25-vgg16-w0.25_hint3-centre_bccd.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[dict(type='DeFeatFeatureTerm', level_strides=(16, ), pairs=[dict(student=0, teacher=0, align='centre')]),
               dict(type='DeFeatRoITerm')]))
