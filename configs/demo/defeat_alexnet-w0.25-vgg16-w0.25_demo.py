# The demo's pair (AlexNet-w0.25 student, VGG16-w0.25 teacher) with DeFeat (decoupled features, Guo et al., CVPR
# 2021; the reference's Faster R-CNN weights): object / background imitation between the student's conv5 and the
# teacher's conv5_3 (a 3x3 adapter, the reference's neck_adapt; centre-aligned as the demo's hint, the cells the
# adapter cannot fill left out; every box on the one stride-16 map) and the decoupled KL on the student's sampled
# RoIs. The paper's terms off. A method of the demo's screen on any data: `tools/demo.py --methods paper
# configs/demo/defeat_alexnet-w0.25-vgg16-w0.25_demo.py ...` (the demo sets the data and classes;
# ../bccd/defeat_*.py is the same method on BCCD for tools/train.py).
_base_ = './kd_alexnet-w0.25-vgg16-w0.25_hint10-centre_demo.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[
            dict(type='DeFeatFeatureTerm', obj_weight=3.0, bg_weight=12.0, level_strides=(16, ),
                 pairs=[dict(student=0, teacher=0, align='centre')]),
            dict(type='DeFeatRoITerm', obj_weight=2.0, bg_weight=2.0, T_obj=1.0, T_bg=1.0),
        ]))
