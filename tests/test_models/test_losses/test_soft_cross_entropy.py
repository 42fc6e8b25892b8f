"""Class-weighted soft cross-entropy, checked against values computed by hand with ``math``."""
import math

import pytest
import torch

from det_kd.models.losses import (WeightedSoftCrossEntropyLoss, weighted_soft_binary_cross_entropy,
                                  weighted_soft_cross_entropy)


def softmax(values, T=1.0):
    exps = [math.exp(v / T) for v in values]
    return [e / sum(exps) for e in exps]


def expected_soft_ce(student, teacher, weights, T=1.0):
    p_t, p_s = softmax(teacher, T), softmax(student, T)
    return -sum(w * pt * math.log(ps) for w, pt, ps in zip(weights, p_t, p_s))


def test_background_weight_applies_to_last_index_by_default():
    student = [[1.0, -0.5, 0.3], [0.2, 0.1, 2.0]]
    teacher = [[2.0, 0.0, -1.0], [-1.0, 0.5, 1.5]]
    out = weighted_soft_cross_entropy(torch.tensor(student), torch.tensor(teacher))
    expected = [expected_soft_ce(s, t, [1.0, 1.0, 1.5]) for s, t in zip(student, teacher)]
    assert out.shape == (2, )
    assert out.tolist() == pytest.approx(expected, rel=1e-6)


def test_background_index_is_configurable_and_weight_matters():
    student, teacher = [0.4, -0.2, 1.1], [1.0, 0.3, -0.7]
    first = weighted_soft_cross_entropy(torch.tensor([student]), torch.tensor([teacher]), bg_index=0)
    assert first.item() == pytest.approx(expected_soft_ce(student, teacher, [1.5, 1.0, 1.0]), rel=1e-6)
    unweighted = weighted_soft_cross_entropy(torch.tensor([student]), torch.tensor([teacher]), bg_weight=1.0)
    assert unweighted.item() == pytest.approx(expected_soft_ce(student, teacher, [1, 1, 1]), rel=1e-6)
    assert first.item() != pytest.approx(unweighted.item())


def test_temperature_softens_both_distributions():
    student, teacher = [2.0, -1.0, 0.5, 0.0], [3.0, 1.0, -2.0, 0.5]
    out = weighted_soft_cross_entropy(torch.tensor([student]), torch.tensor([teacher]), T=3.0)
    assert out.item() == pytest.approx(expected_soft_ce(student, teacher, [1, 1, 1, 1.5], T=3.0), rel=1e-6)


def test_no_gradient_reaches_teacher_logits():
    student = torch.tensor([[0.5, 0.1, -0.3]], requires_grad=True)
    teacher = torch.tensor([[1.0, 0.0, 0.2]], requires_grad=True)
    weighted_soft_cross_entropy(student, teacher).sum().backward()
    assert teacher.grad is None
    assert student.grad is not None and student.grad.abs().sum() > 0


def test_binary_form_matches_hand_computation():
    student, teacher = [0.3, -2.0, 4.0], [1.2, -0.4, 0.0]
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    expected = [-(sig(t) * math.log(sig(s)) + 1.5 * (1 - sig(t)) * math.log(1 - sig(s)))
                for s, t in zip(student, teacher)]
    out = weighted_soft_binary_cross_entropy(torch.tensor(student), torch.tensor(teacher))
    assert out.tolist() == pytest.approx(expected, rel=1e-6)
    hot = weighted_soft_binary_cross_entropy(torch.tensor(student), torch.tensor(teacher), bg_weight=2.0, T=2.0)
    expected_hot = [-(sig(t / 2) * math.log(sig(s / 2)) + 2.0 * (1 - sig(t / 2)) * math.log(1 - sig(s / 2)))
                    for s, t in zip(student, teacher)]
    assert hot.tolist() == pytest.approx(expected_hot, rel=1e-6)


def test_binary_form_is_stable_for_large_logits():
    out = weighted_soft_binary_cross_entropy(torch.tensor([60.0, -60.0]), torch.tensor([-60.0, 60.0]))
    assert torch.isfinite(out).all()
    assert out.tolist() == pytest.approx([1.5 * 60.0, 60.0], rel=1e-4)


def test_module_weights_soft_term_by_one_minus_mu_and_normalises_like_hard_loss():
    student = torch.tensor([[1.0, -0.5, 0.3], [0.2, 0.1, 2.0], [0.0, 0.0, 0.0]])
    teacher = torch.tensor([[2.0, 0.0, -1.0], [-1.0, 0.5, 1.5], [5.0, 0.0, 0.0]])
    weight = torch.tensor([1.0, 1.0, 0.0])  # the third sample was not sampled
    loss = WeightedSoftCrossEntropyLoss(mu=0.25)(student, teacher, weight, avg_factor=4.0, scale=0.5)
    per_sample = [expected_soft_ce(s, t, [1, 1, 1.5]) for s, t in zip(student.tolist(), teacher.tolist())]
    assert loss.item() == pytest.approx(0.5 * 0.75 * (per_sample[0] + per_sample[1]) / 4.0, rel=1e-6)


def test_module_rejects_bad_mu_and_temperature():
    with pytest.raises(ValueError, match=r'mu must be a number in \[0, 1\]'):
        WeightedSoftCrossEntropyLoss(mu=1.5)
    with pytest.raises(ValueError, match='temperature'):
        WeightedSoftCrossEntropyLoss(T=0)
