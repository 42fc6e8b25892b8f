# Synthetic shapes, AlexNet-w0.25 student, VGG16-w0.25 teacher (./kd_alexnet-w0.25-vgg16-w0.25_12e_synthetic-
# coco.py) with PKD (Cao et al. 2022, Pearson-correlation feature imitation) between the student's conv5 and
# the teacher's conv5_3 through a 1x1 adapter (256 -> 512 channels); weight 6 as MMRazor's Faster R-CNN
# config; the paper's terms off.
_base_ = './kd_alexnet-w0.25-vgg16-w0.25_12e_synthetic-coco.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[
            dict(type='PearsonDistillationTerm', loss_weight=6.0, normalize='image',  # as measured
                 pairs=[dict(student=0, teacher=0)])
        ]))
