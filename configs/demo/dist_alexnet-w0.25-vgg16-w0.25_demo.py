# The demo's pair (AlexNet-w0.25 student, VGG16-w0.25 teacher) with DIST (Huang et al., NeurIPS 2022) on the RoI
# heads' class logits of the student's sampled RoIs (the teacher's head run on them, as the paper's RCN terms), the
# DIST authors' detection weights (beta 1, gamma 1, loss_weight 1, tau 1). The paper's terms off. A method of the
# demo's screen on any data: `tools/demo.py --methods paper configs/demo/dist_alexnet-w0.25-vgg16-w0.25_demo.py ...`
# (the demo sets the data and classes; ../bccd/dist_*.py is the same method on BCCD for tools/train.py).
_base_ = './kd_alexnet-w0.25-vgg16-w0.25_hint10-centre_demo.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[dict(type='DISTTerm', loss_weight=1.0, tau=1.0, inter_weight=1.0, intra_weight=1.0)]))
