# Synthetic shapes, AlexNet-w0.25 student, VGG16-w0.25 teacher (./kd_alexnet-w0.25-vgg16-w0.25_12e_synthetic-
# coco.py) with attention transfer (Zagoruyko & Komodakis 2017) between the student's conv5 and the teacher's
# conv5_3: no adapter (the attention map sums the channels away), beta 1000 as the authors'; the paper's terms
# off.
_base_ = './kd_alexnet-w0.25-vgg16-w0.25_12e_synthetic-coco.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[
            dict(type='AttentionTransferTerm', loss_weight=1000.0, p=2, mode='sum',
                 pairs=[dict(student=0, teacher=0)])
        ]))
