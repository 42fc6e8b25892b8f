# ResNet-18 + FPN student, ResNet-50 + FPN teacher on COCO (./kd_r18-r50_fpn_1x_coco.py) with DIST (Huang et al.
# 2022, "Knowledge Distillation from A Stronger Teacher"): the inter- and intra-class Pearson relations of the two
# RoI heads' class probabilities on the student's sampled RoIs; the paper's terms off. Weights as the DIST authors'
# Faster R-CNN config (hunto/MasKD mmrazor/configs/distill/dist/dist_cascade_mask_rcnn_x101-fpn_x50_coco.py:
# beta 1, gamma 1, loss_weight 1, no temperature; COCO 38.4 -> 40.4 from a Cascade Mask R-CNN X101 teacher, 2x
# schedule); MMRazor has no DIST detection config.
_base_ = './kd_r18-r50_fpn_1x_coco.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[dict(type='DISTTerm', loss_weight=1.0, tau=1.0, inter_weight=1.0, intra_weight=1.0)]))
