# The FPN pair at 1/4 width on the synthetic shapes (./kd_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py) with a
# feature term and a head term together: FGD on P2-P5 (as ./fgd_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py,
# the reference's weights: FGDTerm's defaults) and DIST on the RoI head's class scores (as
# ./dist_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py, the DIST authors' detection weights); the paper's terms
# off. DIST's authors report their detection result with a feature term beside DIST (40.4 -> 41.8 COCO mAP); the
# two led issue 32's FPN bench at seeds 0 and 1.
_base_ = './kd_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[dict(type='FGDTerm', pairs=[dict(student=level, teacher=level) for level in range(4)]),
               dict(type='DISTTerm', loss_weight=1.0, tau=1.0, inter_weight=1.0, intra_weight=1.0)]))
