"""Attention transfer, CWD and PKD against element-by-element recomputations on small hand-made maps."""
import math

import pytest
import torch

from det_kd.models.losses import attention_transfer, channel_wise_divergence, pearson_feature_distance


def maps(seed, *shape):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator, dtype=torch.float64)


def expected_at(student, teacher, p, mode, keep=None):
    """Loops over samples and positions."""
    out = []
    for n in range(student.shape[0]):
        positions = [(i, j) for i in range(student.shape[2]) for j in range(student.shape[3])
                     if keep is None or keep[n, i, j]]
        if not positions:
            out.append(0.0)
            continue

        def attention(feat):
            values = []
            for i, j in positions:
                column = [abs(float(feat[n, c, i, j]))**p for c in range(feat.shape[1])]
                values.append(sum(column) if mode == 'sum' else max(column))
            norm = math.sqrt(sum(v * v for v in values))
            return [v / norm for v in values]

        qs, qt = attention(student), attention(teacher)
        out.append(sum((a - b)**2 for a, b in zip(qs, qt)) / len(positions))
    return torch.tensor(out, dtype=torch.float64)


@pytest.mark.parametrize('p, mode', [(2, 'sum'), (1, 'sum'), (2, 'max'), (3, 'max')])
def test_attention_transfer_with_different_channel_counts(p, mode):
    student, teacher = maps(0, 2, 3, 4, 5), maps(1, 2, 7, 4, 5)
    got = attention_transfer(student, teacher, p=p, mode=mode)
    assert got.shape == (2, )
    assert torch.allclose(got.double(), expected_at(student, teacher, p, mode), rtol=1e-5, atol=1e-8)


def test_attention_transfer_mask_keeps_only_the_masked_positions():
    student, teacher = maps(2, 2, 3, 3, 4), maps(3, 2, 5, 3, 4)
    keep = torch.rand(2, 3, 4, generator=torch.Generator().manual_seed(4)) > 0.4
    keep[1] = False  # a sample without a position gives 0
    got = attention_transfer(student, teacher, mask=keep[:, None])
    assert torch.allclose(got.double(), expected_at(student, teacher, 2, 'sum', keep), rtol=1e-5, atol=1e-8)
    assert float(got[1]) == 0.0


def test_attention_transfer_is_zero_for_proportional_attention_and_has_no_teacher_gradient():
    student = maps(5, 1, 4, 3, 3).float().requires_grad_()
    teacher = (student.detach() * 3.0).requires_grad_()  # same attention up to scale
    loss = attention_transfer(student, teacher)
    assert float(loss.detach()) == pytest.approx(0.0, abs=1e-7)
    (attention_transfer(student, maps(6, 1, 2, 3, 3).float()).sum()).backward()
    assert student.grad is not None and teacher.grad is None


def expected_cwd(student, teacher, T, keep=None):
    out = []
    batch, channels, height, width = student.shape
    for n in range(batch):
        cells = [(i, j) for i in range(height) for j in range(width) if keep is None or keep[n, i, j]]
        if not cells:
            out.append(0.0)
            continue
        total = 0.0
        for c in range(channels):
            s = [float(student[n, c, i, j]) / T for i, j in cells]
            t = [float(teacher[n, c, i, j]) / T for i, j in cells]
            zs, zt = sum(math.exp(v) for v in s), sum(math.exp(v) for v in t)
            q, pt = [math.exp(v) / zs for v in s], [math.exp(v) / zt for v in t]
            total += sum(a * math.log(a / b) for a, b in zip(pt, q))
        out.append(T * T * total / channels)
    return torch.tensor(out, dtype=torch.float64)


@pytest.mark.parametrize('T', [1.0, 2.5, 0.5])
def test_channel_wise_divergence_at_several_temperatures(T):
    student, teacher = maps(7, 2, 3, 4, 4), maps(8, 2, 3, 4, 4)
    got = channel_wise_divergence(student, teacher, T=T)
    assert torch.allclose(got.double(), expected_cwd(student, teacher, T), rtol=1e-5, atol=1e-8)


def test_channel_wise_divergence_mask_and_gradients_stay_finite():
    student = maps(9, 2, 3, 3, 4).float().requires_grad_()
    teacher = maps(10, 2, 3, 3, 4).float()
    keep = torch.ones(2, 3, 4, dtype=torch.bool)
    keep[0, :, 0] = False
    keep[1] = False
    got = channel_wise_divergence(student, teacher, T=2.0, mask=keep[:, None])
    assert torch.allclose(got.double(), expected_cwd(student.detach().double(), teacher.double(), 2.0, keep),
                          rtol=1e-5, atol=1e-7)
    got.sum().backward()
    assert torch.isfinite(student.grad).all() and float(student.grad[1].abs().sum()) == 0.0
    assert float(student.grad[0, :, :, 0].abs().sum()) == 0.0  # excluded cells get no gradient


def test_channel_wise_divergence_needs_equal_channels():
    with pytest.raises(ValueError, match='channel_wise_divergence: .*differ in shape .*adapter'):
        channel_wise_divergence(maps(0, 1, 3, 2, 2), maps(1, 1, 4, 2, 2))


def expected_pkd(student, teacher, keep=None):
    out = []
    batch, channels, height, width = student.shape
    for n in range(batch):
        cells = [(i, j) for i in range(height) for j in range(width) if keep is None or keep[n, i, j]]
        if not cells:
            out.append(0.0)
            continue
        total = 0.0
        for c in range(channels):

            def standardised(feat):
                values = [float(feat[n, c, i, j]) for i, j in cells]
                mean = sum(values) / len(values)
                std = math.sqrt(sum((v - mean)**2 for v in values) / len(values))
                return [(v - mean) / (std + 1e-6) for v in values]

            total += sum((a - b)**2 / 2 for a, b in zip(standardised(student), standardised(teacher)))
        out.append(total / (channels * len(cells)))
    return torch.tensor(out, dtype=torch.float64)


def test_pearson_feature_distance_matches_and_ignores_channel_scale_and_offset():
    student, teacher = maps(11, 2, 3, 4, 5), maps(12, 2, 3, 4, 5)
    got = pearson_feature_distance(student, teacher, normalize='image')
    assert torch.allclose(got.double(), expected_pkd(student, teacher), rtol=1e-5, atol=1e-8)
    scaled = student * torch.tensor([2.0, 0.5, 7.0], dtype=torch.float64)[None, :, None, None] + 3.0
    assert float(pearson_feature_distance(scaled, student, normalize='image').abs().max()) < 1e-5


def test_pearson_feature_distance_constant_channels_use_the_eps():
    student = maps(13, 1, 2, 3, 3)
    teacher = maps(14, 1, 2, 3, 3)
    student[0, 1] = 4.0  # constant channel: standardises to 0 (not NaN) through the 1e-6
    got = pearson_feature_distance(student, teacher, normalize='image')
    assert torch.isfinite(got).all()
    assert torch.allclose(got.double(), expected_pkd(student, teacher), rtol=1e-5, atol=1e-8)
    keep = torch.zeros(1, 3, 3, dtype=torch.bool)
    keep[0, 1:, :2] = True
    got = pearson_feature_distance(student, teacher, mask=keep[:, None], normalize='image')
    assert torch.allclose(got.double(), expected_pkd(student, teacher, keep), rtol=1e-5, atol=1e-8)


def test_mismatched_spatial_sizes_are_refused():
    for function in (attention_transfer, channel_wise_divergence, pearson_feature_distance):
        with pytest.raises(ValueError, match='differ in (batch or spatial size|shape)'):
            function(maps(0, 1, 3, 4, 4), maps(1, 1, 3, 4, 5))
