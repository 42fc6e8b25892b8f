"""DIST (Huang et al. 2022) and PKD's batch-wide normalisation (MMRazor's ``PKDLoss``) against hand-made tensors
and independent NumPy / loop computations of the references' formulas."""
import math

import numpy as np
import pytest
import torch

from det_kd.models.losses.dist_loss import dist_loss
from det_kd.models.losses.pearson_feature_distance import pearson_feature_distance
from det_kd.models.distillation.terms.pearson_term import PearsonDistillationTerm


def randn(seed, *shape):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# ----------------------------------------------------------------------------------------------------------- DIST
def reference_dist(student, teacher, tau=1.0, beta=1.0, gamma=1.0, eps=1e-8):
    """The reference's formula (hunto's ``DIST``, MMRazor's ``DISTLoss``) with Python loops."""
    student, teacher = np.asarray(student, dtype=np.float64), np.asarray(teacher, dtype=np.float64)

    def softmax(row):
        exps = [math.exp(v / tau - max(row) / tau) for v in row]
        return [e / sum(exps) for e in exps]

    def pearson(a, b):
        ma, mb = sum(a) / len(a), sum(b) / len(b)
        ca, cb = [v - ma for v in a], [v - mb for v in b]
        norm = math.sqrt(sum(v * v for v in ca)) * math.sqrt(sum(v * v for v in cb))
        return sum(x * y for x, y in zip(ca, cb)) / (norm + eps)

    y_s = [softmax(list(row)) for row in student]
    y_t = [softmax(list(row)) for row in teacher]
    rows, cols = len(y_s), len(y_s[0])
    inter = 1 - sum(pearson(y_s[i], y_t[i]) for i in range(rows)) / rows
    intra = 1 - sum(pearson([y_s[i][j] for i in range(rows)], [y_t[i][j] for i in range(rows)])
                    for j in range(cols)) / cols
    return tau * tau * (beta * inter + gamma * intra)


def test_dist_hand_made_probabilities():
    """Two RoIs, three classes, the teacher's rows swapped: inter 1 - (-1/2) = 3/2, intra 1 - (-1 - 1 + 0) / 3 =
    5/3 (the third column is constant in the student: correlation 0)."""
    student = torch.tensor([[0.5, 0.25, 0.25], [0.25, 0.5, 0.25]]).log()
    teacher = torch.tensor([[0.25, 0.5, 0.25], [0.5, 0.25, 0.25]]).log()
    assert float(dist_loss(student, teacher)) == pytest.approx(3 / 2 + 5 / 3, abs=1e-5)
    assert float(dist_loss(student, teacher, inter_weight=1.0, intra_weight=0.0)) == pytest.approx(1.5, abs=1e-5)
    assert float(dist_loss(student, teacher, inter_weight=0.0, intra_weight=2.0)) == pytest.approx(10 / 3, abs=1e-5)


@pytest.mark.parametrize('tau, beta, gamma', [(1.0, 1.0, 1.0), (4.0, 1.0, 1.0), (0.5, 2.0, 0.5), (2.0, 0.0, 1.0)])
def test_dist_equals_the_reference_formula(tau, beta, gamma):
    student, teacher = randn(0, 7, 5) * 3, randn(1, 7, 5) * 3
    got = dist_loss(student, teacher, tau, beta, gamma)
    assert got.dtype == torch.float64 and got.dim() == 0
    assert dist_loss(student.half(), teacher.half(), tau).dtype == torch.float32
    assert float(got) == pytest.approx(reference_dist(student, teacher, tau, beta, gamma), rel=1e-5, abs=1e-6)


def test_dist_is_zero_for_equal_logits_and_shift_invariant_and_has_no_teacher_gradient():
    student = randn(2, 6, 4).float().requires_grad_()
    assert float(dist_loss(student.detach(), student.detach().clone())) == pytest.approx(0.0, abs=1e-5)
    assert float(dist_loss(student.detach(), student.detach() + 7.0)) == pytest.approx(0.0, abs=1e-5)  # a shift
    teacher = randn(3, 6, 4).float().requires_grad_()
    dist_loss(student, teacher).backward()
    assert teacher.grad is None and torch.isfinite(student.grad).all() and student.grad.abs().sum() > 0


def test_dist_without_rows_is_zero_in_the_graph_and_one_row_has_the_references_intra_term():
    empty = torch.zeros(0, 4, requires_grad=True)
    loss = dist_loss(empty, torch.zeros(0, 4))
    assert float(loss) == 0.0 and loss.requires_grad
    loss.backward()
    one_s, one_t = randn(4, 1, 4), randn(5, 1, 4)
    got = float(dist_loss(one_s, one_t, inter_weight=0.0))
    assert got == pytest.approx(1.0) and got == pytest.approx(reference_dist(one_s, one_t, beta=0.0))


def test_dist_refuses_bad_shapes_and_temperatures():
    with pytest.raises(ValueError, match=r'dist_loss: needs two \(N, K\)'):
        dist_loss(torch.zeros(3, 4), torch.zeros(3, 5))
    with pytest.raises(ValueError, match=r'dist_loss: needs two \(N, K\)'):
        dist_loss(torch.zeros(3, 4, 1), torch.zeros(3, 4, 1))
    with pytest.raises(ValueError, match='tau must be > 0'):
        dist_loss(torch.zeros(3, 4), torch.zeros(3, 4), tau=0.0)


# ------------------------------------------------------------------------------------------------------------ PKD
def mmrazor_pkd(student, teacher):
    """MMRazor's ``PKDLoss`` (``loss_weight=1``) in NumPy: each channel standardised over N x H x W with the
    unbiased std + 1e-6, then ``F.mse_loss(norm_S, norm_T) / 2`` (mean over every element)."""

    def norm(feat):
        feat = np.asarray(feat, dtype=np.float64)
        n, c, h, w = feat.shape
        flat = feat.transpose(1, 0, 2, 3).reshape(c, -1)
        flat = (flat - flat.mean(axis=1, keepdims=True)) / (flat.std(axis=1, ddof=1, keepdims=True) + 1e-6)
        return flat.reshape(c, n, h, w).transpose(1, 0, 2, 3)

    return float(((norm(student) - norm(teacher))**2).mean() / 2)


def batch_pkd_by_loops(student, teacher, keep=None):
    """Per sample, with statistics per channel over the kept cells of every image (unbiased; one cell: std 0)."""
    batch, channels, height, width = student.shape
    cells = [(n, i, j) for n in range(batch) for i in range(height) for j in range(width)
             if keep is None or keep[n, i, j]]
    sums, counts = [0.0] * batch, [0] * batch
    for c in range(channels):

        def standardised(feat):
            values = {cell: float(feat[cell[0], c, cell[1], cell[2]]) for cell in cells}
            mean = sum(values.values()) / len(values)
            var = sum((v - mean)**2 for v in values.values()) / max(len(values) - 1, 1)
            return {cell: (v - mean) / (math.sqrt(var) + 1e-6) for cell, v in values.items()}

        s, t = standardised(student), standardised(teacher)
        for cell in cells:
            sums[cell[0]] += (s[cell] - t[cell])**2 / 2
            counts[cell[0]] += 1
    return torch.tensor([total / count if count else 0.0 for total, count in zip(sums, counts)], dtype=torch.float64)


def test_pkd_the_issues_example_a_teacher_image_scaled_4x_plus_3_inside_a_batch():
    """Image 0 equal, image 1's teacher 4 x + 3 of the student's. Per image: each image's teacher standardises to
    the student's: 0. Over the batch: Pearson r = 14 / sqrt(8 * 50) = 0.7 over M = 6 cells, and MMRazor's loss is
    (M - 1) / M * (1 - r) = 5/6 * 0.3 = 0.25."""
    student = torch.tensor([[-1., 0., 2.], [-1., -1., 1.]], dtype=torch.float64).reshape(2, 1, 1, 3)
    teacher = student.clone()
    teacher[1] = 4 * student[1] + 3
    per_image = pearson_feature_distance(student, teacher, normalize='image')
    assert float(per_image.abs().max()) < 1e-10
    batch_wide = pearson_feature_distance(student, teacher)  # the default: 'batch'
    assert float(batch_wide.mean()) == pytest.approx(0.25, abs=1e-6)
    assert mmrazor_pkd(student, teacher) == pytest.approx(0.25, abs=1e-6)
    assert float(batch_wide.mean()) == pytest.approx(mmrazor_pkd(student, teacher), rel=1e-6)
    assert torch.allclose(batch_wide.double(), batch_pkd_by_loops(student, teacher), rtol=1e-6, atol=1e-9)
    assert float(batch_wide[0]) > 0  # image 0 is no longer a perfect match either: its statistics are the batch's


def test_pkd_batch_equals_mmrazors_formula_and_the_term_its_weighted_loss():
    student, teacher = randn(6, 3, 4, 5, 6) * 2 + 1, randn(7, 3, 4, 5, 6) * 5 - 2
    got = pearson_feature_distance(student, teacher)
    assert got.shape == (3, )
    assert float(got.mean()) == pytest.approx(mmrazor_pkd(student, teacher), rel=1e-5)
    assert torch.allclose(got.double(), batch_pkd_by_loops(student, teacher), rtol=1e-5, atol=1e-8)
    term = PearsonDistillationTerm(pairs=[dict(student=0, teacher=0)])
    assert term.normalize == 'batch' and term.loss_weight == 6.0
    assert float(term.pair_loss(student, teacher, 1.0, None)) == pytest.approx(6 * mmrazor_pkd(student, teacher),
                                                                               rel=1e-5)
    image = PearsonDistillationTerm(pairs=[dict(student=0, teacher=0)], normalize='image')
    expected = 6 * pearson_feature_distance(student, teacher, normalize='image').mean()
    assert float(image.pair_loss(student, teacher, 0.5, None)) == pytest.approx(0.5 * float(expected), rel=1e-6)


def test_pkd_batch_ignores_an_affine_map_of_the_whole_batch_per_channel_only():
    student = randn(8, 3, 2, 4, 4)
    scale = torch.tensor([2.0, 0.5], dtype=torch.float64)[None, :, None, None]
    same_for_all = student * scale + 3.0
    assert float(pearson_feature_distance(same_for_all, student).abs().max()) < 1e-9
    per_image = student.clone()
    per_image[1] = per_image[1] * 4.0 + 3.0
    assert float(pearson_feature_distance(per_image, student, normalize='image').abs().max()) < 1e-9
    assert float(pearson_feature_distance(per_image, student).mean()) > 0.01


def test_pkd_batch_mask_takes_the_statistics_over_the_kept_cells_of_every_image():
    student = randn(9, 3, 2, 3, 4).float().requires_grad_()
    teacher = randn(10, 3, 2, 3, 4).float()
    keep = torch.rand(3, 3, 4, generator=torch.Generator().manual_seed(11)) > 0.4
    keep[2] = False  # an image without a kept cell gives 0
    got = pearson_feature_distance(student, teacher, mask=keep[:, None])
    assert torch.allclose(got.double(), batch_pkd_by_loops(student.detach().double(), teacher.double(), keep),
                          rtol=1e-5, atol=1e-7)
    assert float(got[2]) == 0.0
    changed = teacher.clone()
    changed[~keep[:, None].expand_as(changed)] = 100.0  # excluded cells change neither statistics nor loss
    assert torch.allclose(pearson_feature_distance(student, changed, mask=keep[:, None]), got)
    got.sum().backward()
    assert torch.isfinite(student.grad).all()
    assert float(student.grad[~keep[:, None].expand_as(student)].abs().sum()) == 0.0
    full = torch.ones(3, 1, 3, 4, dtype=torch.bool)
    assert torch.allclose(pearson_feature_distance(student, teacher, mask=full), pearson_feature_distance(student,
                                                                                                          teacher))


@pytest.mark.parametrize('normalize', ['batch', 'image'])
def test_pkd_constant_channels_give_finite_values_and_gradients(normalize):
    student = randn(12, 2, 2, 3, 3).float()
    student[:, 1] = 4.0  # constant over the batch: standardises to 0 through the 1e-6
    student.requires_grad_()
    teacher = randn(13, 2, 2, 3, 3).float()
    keep = torch.ones(2, 1, 3, 3, dtype=torch.bool)
    keep[0, :, 0] = False
    for mask in (None, keep):
        got = pearson_feature_distance(student, teacher, mask=mask, normalize=normalize)
        got.sum().backward()
        assert torch.isfinite(got).all() and torch.isfinite(student.grad).all(), (normalize, mask is None)
        student.grad = None
    single = pearson_feature_distance(torch.ones(1, 2, 1, 1), torch.zeros(1, 2, 1, 1), normalize=normalize)
    assert torch.equal(single, torch.zeros(1))  # one cell: std 0, both standardise to 0


def test_pkd_refuses_an_unknown_normalisation():
    with pytest.raises(ValueError, match="normalize must be one of \\('batch', 'image'\\)"):
        pearson_feature_distance(randn(0, 1, 2, 2, 2), randn(1, 1, 2, 2, 2), normalize='instance')
    with pytest.raises(ValueError, match='PearsonDistillationTerm.normalize'):
        PearsonDistillationTerm(pairs=[dict(student=0, teacher=0)], normalize='channel')
