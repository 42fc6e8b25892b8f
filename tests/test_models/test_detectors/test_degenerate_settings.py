"""Settings that make a term degenerate or a number that is not one (issue 29): attention transfer stays finite
for a large p; temperatures that make a term degenerate are refused; an ensemble weight that is a string or a
bool is refused as every other setting is; the diagnostics' "under 1 % of the gradient" warning covers every
term."""
import pytest
import torch

import det_kd  # noqa: F401
from det_kd.models.distillation import DistillationProbe, diagnostic_warnings
from det_kd.models.distillation.teachers.combination import check_weights
from det_kd.models.losses import attention_transfer
from kd_fixtures import batch, build, kd_cfg, teacher_cfg

HEADS_OFF = dict(hints=[], loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None)


@pytest.mark.parametrize('p', [2.0, 16.0, 64.0, 200.0])
def test_attention_transfer_stays_finite_for_a_large_p(p):
    """|A|^64 overflows float32 from |A| ~ 4: p = 64 was NaN. The loss equals the float64 computation."""
    torch.manual_seed(0)
    student = (torch.randn(2, 8, 6, 7) * 5).requires_grad_()
    teacher = torch.randn(2, 16, 6, 7) * 5
    loss = attention_transfer(student, teacher, p=p)
    loss.sum().backward()
    assert torch.isfinite(loss).all() and torch.isfinite(student.grad).all()

    def normalised(feat):  # in float64 and in the log domain: exp(p log|A| - its max), then L2-normalised
        log_q = torch.logsumexp(p * feat.double().abs().log(), dim=1).flatten(1)
        q = (log_q - log_q.amax(dim=1, keepdim=True)).exp()
        return q / q.norm(dim=1, keepdim=True)

    def reference(s, t):
        return (normalised(s) - normalised(t)).pow(2).sum(1) / (s.size(2) * s.size(3))

    assert torch.allclose(loss.double(), reference(student.detach(), teacher), rtol=1e-4, atol=1e-7)


def test_an_attention_transfer_term_with_p_64_trains_with_finite_losses():
    terms = [dict(type='AttentionTransferTerm', pairs=[dict(student=0, teacher=0)], p=64.0)]
    torch.manual_seed(0)
    model = build(kd_cfg(distill=dict(HEADS_OFF, terms=terms)))
    model.train()
    inputs, samples = batch(model)
    losses = model.loss(inputs * 50, samples)  # large activations: |A| well above 4
    assert torch.isfinite(losses['loss_at'])
    losses['loss_at'].backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize('distill,words', [
    (dict(rcn_cls=dict(T=1e-6)), ['distill.rcn_cls', 'temperature T must be >= 0.01, got 1e-06', 'one-hot']),
    (dict(rpn_cls=dict(T=0.005)), ['distill.rpn_cls', '>= 0.01']),
    (dict(HEADS_OFF, terms=[dict(type='ChannelWiseDistillationTerm', pairs=[dict(student=0, teacher=0,
                                                                                 adapter='conv1x1')], T=1e-8)]),
     ['distill.terms[0]', 'ChannelWiseDistillationTerm.T must be >= 0.01, got 1e-08']),
    (dict(HEADS_OFF, terms=[dict(type='DISTTerm', tau=1e-4)]), ['distill.terms[0]', 'DISTTerm.tau must be >= 0.01']),
])
def test_a_temperature_that_makes_the_term_degenerate_is_refused(distill, words):
    """CWD at T = 1e-8 trained with loss_cwd 0.0000; rcn_cls at T = 1e-6 gave losses of 9e4."""
    with pytest.raises(ValueError) as raised:
        build(kd_cfg(distill=distill))
    for word in words:
        assert word in str(raised.value), str(raised.value)
    build(kd_cfg(distill=dict(rcn_cls=dict(T=0.01))))  # the floor itself builds


def test_the_low_gradient_share_warning_covers_every_term():
    measurement = {'grad/hard/backbone_share': 0.5, 'grad/rcn_kd_cls/backbone_share': 0.95,
                   'grad/at/backbone_share': 0.001, 'grad/at/heads_share': 0.0, 'grad/cwd/backbone_share': 0.3,
                   'grad/total/backbone_norm': 1.0}
    warnings = diagnostic_warnings(measurement, iteration=0)
    assert set(warnings) == {'share/at'}
    assert 'distillation term loss_at carries 0.10% (less than 1%)' in warnings['share/at']
    assert 'loss_rcn_kd_cls carries 95.0% of it: that term may be too large' in warnings['share/at']


def test_a_measured_step_warns_about_a_feature_term_with_no_effect():
    terms = [dict(type='AttentionTransferTerm', pairs=[dict(student=0, teacher=0)], loss_weight=1e-6)]
    torch.manual_seed(0)
    model = build(kd_cfg(distill=dict(terms=terms)))
    model.train()
    inputs, samples = batch(model)
    with DistillationProbe(model) as probe:
        model.loss(inputs, samples)
    assert probe.result['grad/at/backbone_share'] < 0.01
    assert 'share/at' in diagnostic_warnings(probe.result, iteration=0)


@pytest.mark.parametrize('weight', ['0.3', True, None])
def test_an_ensemble_weight_that_is_not_a_number_is_refused(weight):
    with pytest.raises(TypeError, match=rf"KDFasterRCNN.teacher\[1\].weight must be a finite number >= 0, got "
                                        rf"{weight!r} \({type(weight).__name__}\)"):
        check_weights([1.0, weight], 'KDFasterRCNN.teacher')
    cfg = kd_cfg()
    cfg.teacher = [dict(cfg.teacher), dict(config=dict(model=teacher_cfg()), allow_random_init=True, weight=weight)]
    with pytest.raises(TypeError, match=r"KDFasterRCNN.teacher\[1\].weight must be a finite number"):
        build(cfg)
