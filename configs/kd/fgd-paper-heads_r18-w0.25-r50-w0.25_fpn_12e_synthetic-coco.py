# The FPN pair at 1/4 width on the synthetic shapes (./kd_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py) with the
# paper's four head terms (soft CE on the RPN and the RoI head, teacher-bounded regression on both, the paper's
# weights) and FGD on P2-P5 in place of the paper's hint (FGDTerm's defaults: the reference's weights, as
# ./fgd_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py): the best feature term of issue 32's bench with the heads.
_base_ = './kd_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py'

model = dict(
    distill=dict(
        loss_hint=None,
        terms=[dict(type='FGDTerm', pairs=[dict(student=level, teacher=level) for level in range(4)])]))
