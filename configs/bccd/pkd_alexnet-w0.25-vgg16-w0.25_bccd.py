# BCCD, AlexNet-w0.25 student, VGG16-w0.25 teacher, with PKD (weight 6) between the student's conv5 and the
# teacher's conv5_3, centre-aligned as the demo's hint; the paper's terms off. Pass the teacher's checkpoint
# with --cfg-options model.teacher.checkpoint=...
_base_ = './kd_alexnet-w0.25-vgg16-w0.25_hint3-centre_bccd.py'

model = dict(
    distill=dict(
        loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
        terms=[
            dict(type='PearsonDistillationTerm', loss_weight=6.0, normalize='image',  # as measured
                 pairs=[dict(student=0, teacher=0, align='centre')])
        ]))
