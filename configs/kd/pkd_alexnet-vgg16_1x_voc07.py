# The paper's pair on PASCAL VOC 2007 (AlexNet student, VGG16 teacher: ./kd_alexnet-vgg16_1x_voc07.py) with
# PKD (Cao et al. 2022, Pearson-correlation feature imitation) between the student's conv5 and the teacher's
# conv5_3 through a 1x1 adapter (256 -> 512 channels); weight 6 as MMRazor's Faster R-CNN config; the paper's
# terms off (set them back in `distill` for "paper terms + pkd"; tools/ablation.py runs such columns side by
# side).
_base_ = './kd_alexnet-vgg16_1x_voc07.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[
            dict(type='PearsonDistillationTerm', loss_weight=6.0,
                 pairs=[dict(student=0, teacher=0)])
        ]))
