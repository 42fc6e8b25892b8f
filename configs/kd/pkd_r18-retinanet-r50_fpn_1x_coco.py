# A teacher of another architecture on COCO: Faster R-CNN ResNet-18 + FPN student, MMDetection's RetinaNet
# ResNet-50 + FPN teacher named by its config name (`mmdet::retinanet/retinanet_r50_fpn_1x_coco.py`; its
# checkpoint from MMDetection's model zoo, downloaded beforehand), with PKD (Cao et al. 2022, made for such pairs)
# on the stride-matched levels: the student's P3-P6 (FPN outputs 1-4) against the teacher's P3-P6 (outputs 0-3:
# RetinaNet's FPN starts at C3), 256 channels on both sides, MMRazor's PKDLoss (weight 6, batch-wide
# standardisation). The paper's head terms need a two-stage teacher (an RPN and an RoI head): off.
_base_ = './kd_r18-r50_fpn_1x_coco.py'

model = dict(
    teacher=dict(config='mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
                 checkpoint='checkpoints/retinanet_r50_fpn_1x_coco_20200130-c2398f9e.pth'),
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[
            dict(type='PearsonDistillationTerm', loss_weight=6.0, normalize='batch',
                 pairs=[dict(student=level + 1, teacher=level) for level in range(4)])
        ]))
