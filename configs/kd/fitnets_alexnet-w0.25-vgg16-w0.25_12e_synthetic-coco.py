# FitNets' two stages (Romero et al. 2015) on the synthetic pair
# (./kd_alexnet-w0.25-vgg16-w0.25_12e_synthetic-coco.py): stage 1 (the first 2 of 12 epochs) trains the
# student's layers up to its conv5 and the 1x1 adapter on the hint alone; stage 2 the whole student with the
# paper's terms. For another pair, add the same hook to its distillation config (any feature term can lead
# stage 1: distill.loss_hint or a term of distill.terms).
_base_ = './kd_alexnet-w0.25-vgg16-w0.25_12e_synthetic-coco.py'

custom_hooks = [
    dict(type='FitNetsStagesHook', hint_epochs=2),
    dict(type='DistillationScheduleHook'),
    dict(type='TeacherEvaluationHook'),
    dict(type='DistillationDiagnosticsHook'),
]
