"""Teacher-bounded L2: per-sample gating with ties and margins, gradient towards the ground truth."""
import pytest
import torch

from det_kd.models.losses import TeacherBoundedRegressionLoss, teacher_bounded_l2, teacher_l2


def sq(a, b):
    return sum((x - y)**2 for x, y in zip(a, b))


TARGETS = [[0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0], [0.5, -0.5, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
STUDENT = [[0.5, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.2], [0.5, -0.5, 0.3, 0.0], [0.0, 0.0, 0.0, 0.1]]
TEACHER = [[0.1, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.5], [0.5, -0.5, 0.0, 0.3], [0.0, 0.0, 0.1, 0.0]]


def test_gate_is_evaluated_per_sample():
    # sample 0: student 0.25 > teacher 0.01 -> penalised; sample 1: 0.04 < 0.25 -> 0;
    # sample 2: 0.09 vs 0.09 tie -> 0 (strict >); sample 3: 0.01 vs 0.01 tie -> 0.
    out = teacher_bounded_l2(torch.tensor(STUDENT), torch.tensor(TEACHER), torch.tensor(TARGETS))
    assert out.tolist() == pytest.approx([0.25, 0.0, 0.0, 0.0], abs=1e-7)


def test_margin_opens_the_gate_for_ties_and_near_misses():
    out = teacher_bounded_l2(torch.tensor(STUDENT), torch.tensor(TEACHER), torch.tensor(TARGETS), margin=0.22)
    # sample 1: 0.04 + 0.22 = 0.26 > 0.25 -> penalised; ties 2 and 3 open as well.
    assert out.tolist() == pytest.approx([0.25, 0.04, 0.09, 0.01], abs=1e-6)
    negative = teacher_bounded_l2(torch.tensor(STUDENT), torch.tensor(TEACHER), torch.tensor(TARGETS),
                                  margin=-0.3)
    assert negative.tolist() == pytest.approx([0.0, 0.0, 0.0, 0.0], abs=1e-7)


def test_gradient_pulls_student_towards_ground_truth_not_teacher():
    student = torch.tensor([[0.5, 0.0, 0.0, 0.0]], requires_grad=True)
    teacher = torch.tensor([[0.2, 0.0, 0.0, 0.0]], requires_grad=True)
    target = torch.tensor([[0.0, 0.0, 0.0, 0.0]])
    teacher_bounded_l2(student, teacher, target).sum().backward()
    assert student.grad[0].tolist() == pytest.approx([2 * 0.5, 0.0, 0.0, 0.0])  # d/ds (s - y)^2
    assert teacher.grad is None


def test_plain_l2_to_teacher():
    out = teacher_l2(torch.tensor(STUDENT), torch.tensor(TEACHER))
    assert out.tolist() == pytest.approx([sq(s, t) for s, t in zip(STUDENT, TEACHER)], abs=1e-6)


def test_module_normalises_with_head_avg_factor_and_weights():
    loss = TeacherBoundedRegressionLoss(nu=0.5, margin=0.22)
    weight = torch.tensor([1.0, 1.0, 0.0, 1.0])
    value = loss(torch.tensor(STUDENT), torch.tensor(TEACHER), torch.tensor(TARGETS), weight, avg_factor=8,
                 scale=2.0)
    assert value.item() == pytest.approx(2.0 * 0.5 * (0.25 + 0.04 + 0.01) / 8, rel=1e-6)
    l2 = TeacherBoundedRegressionLoss(nu=1.0, mode='l2')
    value = l2(torch.tensor(STUDENT), torch.tensor(TEACHER), torch.tensor(TARGETS), torch.ones(4), avg_factor=1)
    assert value.item() == pytest.approx(sum(sq(s, t) for s, t in zip(STUDENT, TEACHER)), rel=1e-6)


def test_empty_positive_set_gives_zero_with_gradient_path():
    student = torch.zeros(0, 4, requires_grad=True)
    value = TeacherBoundedRegressionLoss()(student, torch.zeros(0, 4), torch.zeros(0, 4), torch.zeros(0), 0)
    value.backward()
    assert value.item() == 0.0


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match='same'):
        teacher_bounded_l2(torch.zeros(2, 4), torch.zeros(3, 4), torch.zeros(2, 4))
    with pytest.raises(ValueError, match='mode'):
        TeacherBoundedRegressionLoss(mode='l3')
