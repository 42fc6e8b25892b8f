# The paper's pair on PASCAL VOC 2007 (AlexNet student, VGG16 teacher: ./kd_alexnet-vgg16_1x_voc07.py) with
# attention transfer (Zagoruyko & Komodakis 2017) between the student's conv5 and the teacher's conv5_3: no
# adapter (the attention map sums the channels away), beta 1000 as the authors'; the paper's terms off (set
# them back in `distill` for "paper terms + at"; tools/ablation.py runs such columns side by side).
_base_ = './kd_alexnet-vgg16_1x_voc07.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[
            dict(type='AttentionTransferTerm', loss_weight=1000.0, p=2, mode='sum',
                 pairs=[dict(student=0, teacher=0)])
        ]))
