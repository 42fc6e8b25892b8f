# Demo distillation with a stronger, centre-aligned hint: the paper's loss (configs/demo/kd_...demo.py: soft CE
# w_bg 1.5 / T 1 / mu 0.5 on RPN and RoI head, teacher-bounded L2 nu 0.5) with two changes to the hint only:
# - gamma 3 instead of 0.5: at 0.5 the hint's gradient fell to ~8 % of the hard losses' and the student's
#   adapted conv5 explained ~4 % of the teacher map's variance (issue #12's measurements);
# - align='centre': AlexNet conv5 cell m is centred at pixel 16m+15, VGG16 conv5_3 cell m at 16m+7.5; the
#   student map is resampled onto the teacher's cell centres and the teacher cells it does not cover (and
#   those on batch padding) leave the loss, instead of being compared with zero padding ('pad').
# Measured against the baseline over paired seeds: benchmarks/results/kd_regime_synthetic.md.
_base_ = './kd_alexnet-w0.25-vgg16-w0.25_demo.py'

model = dict(
    distill=dict(
        hints=[dict(student=0, teacher=0, adapter='conv1x1', align='centre')],
        loss_hint=dict(loss_weight=3.0)))

# No TeacherEvaluationHook: tools/demo.py tests the teacher itself (on its 500 images that would cost a minute).
custom_hooks = [
    dict(type='DistillationScheduleHook'),  # constant weights (the paper's)
    dict(type='DistillationDiagnosticsHook'),  # every 100 iters: grad shares, teacher vs student, gates
]
