"""MGD and FBKD functional forms against hand computations and element-by-element loops on small maps."""
import math

import pytest
import torch
from torch import nn

from det_kd.models.losses.fbkd import fbkd_attention, fbkd_losses
from det_kd.models.losses.masked_generative import masked_generative_distance, random_keep_mask


def maps(seed, *shape):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator, dtype=torch.float64)


def identity_conv3x3(channels, dtype=torch.float64):
    conv = nn.Conv2d(channels, channels, 3, padding=1).to(dtype)
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
        for c in range(channels):
            conv.weight[c, c, 1, 1] = 1.0
    return conv


def relu_generator(channels, dtype=torch.float64):
    """conv3x3 - ReLU - conv3x3 with identity kernels: the generator computes ReLU."""
    return nn.Sequential(identity_conv3x3(channels, dtype), nn.ReLU(), identity_conv3x3(channels, dtype))


# ---------------------------------------------------------------------------------------------------- MGD
def test_mgd_hand_computed_value_with_a_fixed_mask_and_generator():
    student = torch.tensor([[[[1.0, -2.0], [3.0, 4.0]]]], dtype=torch.float64)
    teacher = torch.tensor([[[[0.0, 1.0], [2.0, 2.0]]]], dtype=torch.float64)
    keep = torch.tensor([[[[1.0, 1.0], [0.0, 1.0]]]])
    # masked student [[1, -2], [0, 4]] -> ReLU [[1, 0], [0, 4]]; errors 1, -1, -2, 2
    with torch.no_grad():
        got = masked_generative_distance(student, teacher, relu_generator(1), keep)
    assert got.shape == (1, )
    assert float(got) == pytest.approx(10.0)


def naive_conv3x3(x, weight, bias):
    """Zero-padded 3x3 convolution of one sample ``(C, H, W)`` by loops."""
    channels_out, channels_in = weight.shape[:2]
    height, width = x.shape[1:]
    out = torch.zeros(channels_out, height, width, dtype=torch.float64)
    for o in range(channels_out):
        for i in range(height):
            for j in range(width):
                total = float(bias[o])
                for c in range(channels_in):
                    for di in range(3):
                        for dj in range(3):
                            y, x_ = i + di - 1, j + dj - 1
                            if 0 <= y < height and 0 <= x_ < width:
                                total += float(weight[o, c, di, dj]) * float(x[c, y, x_])
                out[o, i, j] = total
    return out


def expected_mgd(student, teacher, generator, keep, compared=None):
    first, second = generator[0], generator[2]
    out = []
    for n in range(student.shape[0]):
        masked = student[n] * keep[n].double()
        hidden = naive_conv3x3(masked, first.weight.detach().double(), first.bias.detach().double()).clamp(min=0)
        generated = naive_conv3x3(hidden, second.weight.detach().double(), second.bias.detach().double())
        total = 0.0
        for c in range(teacher.shape[1]):
            for i in range(teacher.shape[2]):
                for j in range(teacher.shape[3]):
                    if compared is None or compared[n, i, j]:
                        total += (float(generated[c, i, j]) - float(teacher[n, c, i, j]))**2
        out.append(total)
    return torch.tensor(out, dtype=torch.float64)


def test_mgd_with_a_random_generator_equals_loops_and_the_compare_mask_selects_cells():
    from det_kd.models.distillation.terms.mgd_term import mgd_generator
    torch.manual_seed(3)
    generator = mgd_generator(2).double()
    student, teacher = maps(1, 2, 2, 3, 4), maps(2, 2, 2, 3, 4)
    keep = random_keep_mask((2, 1, 3, 4), 0.45, torch.Generator().manual_seed(7))
    with torch.no_grad():
        got = masked_generative_distance(student, teacher, generator, keep)
        assert torch.allclose(got.double(), expected_mgd(student, teacher, generator, keep), rtol=1e-6)
        compared = torch.rand(2, 3, 4, generator=torch.Generator().manual_seed(8)) > 0.3
        compared[1] = False  # a sample without a compared cell gives 0
        got = masked_generative_distance(student, teacher, generator, keep, compared[:, None])
    assert torch.allclose(got.double(), expected_mgd(student, teacher, generator, keep, compared), rtol=1e-6)
    assert float(got[1]) == 0.0


def test_mgd_gradients_skip_the_masked_positions_and_the_teacher():
    from det_kd.models.distillation.terms.mgd_term import mgd_generator
    torch.manual_seed(4)
    generator = mgd_generator(3)
    student = maps(3, 2, 3, 4, 4).float().requires_grad_()
    teacher = maps(4, 2, 3, 4, 4).float().requires_grad_()
    keep = torch.ones(2, 1, 4, 4)
    keep[0, 0, 1, 2] = keep[1, 0, 3, 0] = 0.0
    masked_generative_distance(student, teacher, generator, keep).sum().backward()
    assert teacher.grad is None
    assert float(student.grad[0, :, 1, 2].abs().sum()) == 0.0 and float(student.grad[1, :, 3, 0].abs().sum()) == 0.0
    assert float(student.grad.abs().sum()) > 0
    assert all(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in generator.parameters())


def test_random_keep_mask_is_the_references_rule_and_leaves_the_global_stream():
    shape = (4, 1, 50, 60)
    state = torch.get_rng_state()
    keep = random_keep_mask(shape, 0.45, torch.Generator().manual_seed(11))
    assert torch.equal(torch.get_rng_state(), state)
    draws = torch.rand(shape, generator=torch.Generator().manual_seed(11))
    assert torch.equal(keep, torch.where(draws > 1 - 0.45, 0.0, 1.0))  # yzd-v/MGD mgd.py: zero where rand > 1 - l
    assert keep.dtype == torch.float32 and set(keep.unique().tolist()) <= {0.0, 1.0}
    assert abs(float(keep.mean()) - 0.55) < 0.02
    assert bool(random_keep_mask(shape, 0.0).all())
    with pytest.raises(ValueError, match='lambda_mgd'):
        random_keep_mask(shape, 1.5)


def test_mgd_needs_equal_channels_and_a_broadcastable_keep():
    generator = relu_generator(2)
    with pytest.raises(ValueError, match='differ in shape .*adapter'):
        masked_generative_distance(maps(0, 1, 3, 2, 2), maps(1, 1, 2, 2, 2), generator, torch.ones(1, 1, 2, 2))
    with pytest.raises(ValueError, match='keep of shape'):
        masked_generative_distance(maps(0, 1, 2, 2, 2), maps(1, 1, 2, 2, 2), generator, torch.ones(1, 1, 3, 2))


# ---------------------------------------------------------------------------------------------------- FBKD
def expected_attention(feat, spatial_T, channel_T):
    batch, channels, height, width = feat.shape
    spatial = torch.zeros(batch, 1, height, width, dtype=torch.float64)
    channel = torch.zeros(batch, channels, 1, 1, dtype=torch.float64)
    for n in range(batch):
        values = {(i, j): sum(abs(float(feat[n, c, i, j])) for c in range(channels)) / channels
                  for i in range(height) for j in range(width)}
        norm = sum(math.exp(v / spatial_T) for v in values.values())
        for (i, j), v in values.items():
            spatial[n, 0, i, j] = height * width * math.exp(v / spatial_T) / norm
        means = [sum(abs(float(feat[n, c, i, j])) for i in range(height) for j in range(width)) / (height * width)
                 for c in range(channels)]
        norm = sum(math.exp(v / channel_T) for v in means)
        for c, v in enumerate(means):
            channel[n, c, 0, 0] = channels * math.exp(v / channel_T) / norm
    return spatial, channel


@pytest.mark.parametrize('spatial_T, channel_T', [(0.5, 0.5), (1.0, 2.0)])
def test_fbkd_attention_equals_loops(spatial_T, channel_T):
    feat = maps(5, 2, 3, 3, 4)
    spatial, channel = fbkd_attention(feat, spatial_T, channel_T)
    expected_spatial, expected_channel = expected_attention(feat, spatial_T, channel_T)
    assert torch.allclose(spatial.double(), expected_spatial, rtol=1e-5)
    assert torch.allclose(channel.double(), expected_channel, rtol=1e-5)
    assert torch.allclose(spatial.sum(dim=(1, 2, 3)), torch.full((2, ), 12.0))


def expected_fbkd(student, teacher, s_rel, t_rel, project, spatial_scale, channel_mask=False, T=0.5):
    """Loops; ``project`` (Ct x Cs) is the feature / channel / relation adaptation, ``spatial_scale`` the
    spatial one."""
    batch, cs, height, width = student.shape
    ct = teacher.shape[1]
    s_spatial, s_channel = expected_attention(student, T, T)
    t_spatial, t_channel = expected_attention(teacher, T, T)

    def projected(feat, n, o, i, j):
        return sum(float(project[o, c]) * float(feat[n, c, i, j]) for c in range(cs))

    feature = channel = spatial = nonlocal_ = 0.0
    for n in range(batch):
        for o in range(ct):
            for i in range(height):
                for j in range(width):
                    weight = (float(t_spatial[n, 0, i, j]) + float(s_spatial[n, 0, i, j])) / 2
                    if channel_mask:
                        weight *= (float(t_channel[n, o, 0, 0]) + float(s_channel[n, o, 0, 0])) / 2
                    feature += (float(teacher[n, o, i, j]) - projected(student, n, o, i, j))**2 * weight
                    nonlocal_ += (projected(s_rel, n, o, i, j) - float(t_rel[n, o, i, j]))**2
            s_mean = [float(student[n, c].mean()) for c in range(cs)]
            channel += (float(teacher[n, o].mean()) - sum(float(project[o, c]) * s_mean[c] for c in range(cs)))**2
        for i in range(height):
            for j in range(width):
                t_mean = sum(float(teacher[n, c, i, j]) for c in range(ct)) / ct
                s_mean = sum(float(student[n, c, i, j]) for c in range(cs)) / cs
                spatial += (t_mean - spatial_scale * s_mean)**2
    return {key: math.sqrt(value) for key, value in
            dict(feature=feature, channel=channel, spatial=spatial, nonlocal_=nonlocal_).items()}


def linear_adapters(project, spatial_scale):
    return dict(adapt_feature=lambda x: torch.einsum('oc,nchw->nohw', project, x),
                adapt_channel=lambda x: x @ project.T,
                adapt_spatial=lambda x: spatial_scale * x,
                adapt_relation=lambda x: torch.einsum('oc,nchw->nohw', project, x))


def test_fbkd_losses_equal_loops_with_different_channel_counts():
    student, teacher = maps(6, 2, 3, 3, 4), maps(7, 2, 2, 3, 4)
    s_rel, t_rel = maps(8, 2, 3, 3, 4), maps(9, 2, 2, 3, 4)
    project, scale = maps(10, 2, 3), 1.7
    got = fbkd_losses(student, teacher, s_rel, t_rel, **linear_adapters(project, scale))
    expected = expected_fbkd(student, teacher, s_rel, t_rel, project, scale)
    assert set(got) == {'feature', 'channel', 'spatial', 'nonlocal'}
    for part in got:
        assert got[part].shape == ()
        assert float(got[part]) == pytest.approx(expected['nonlocal_' if part == 'nonlocal' else part], rel=1e-5)


def test_fbkd_losses_channel_mask_is_the_papers_weighting():
    student, teacher = maps(11, 2, 3, 2, 3), maps(12, 2, 3, 2, 3)
    s_rel, t_rel = maps(13, 2, 3, 2, 3), maps(14, 2, 3, 2, 3)
    project = maps(15, 3, 3)
    got = fbkd_losses(student, teacher, s_rel, t_rel, **linear_adapters(project, 0.5), spatial_T=0.5, channel_T=0.5,
                      channel_mask=True)
    expected = expected_fbkd(student, teacher, s_rel, t_rel, project, 0.5, channel_mask=True)
    assert float(got['feature']) == pytest.approx(expected['feature'], rel=1e-5)
    with pytest.raises(ValueError, match='differ in shape'):
        fbkd_losses(maps(0, 1, 3, 2, 2), maps(1, 1, 2, 2, 2), maps(0, 1, 3, 2, 2), maps(1, 1, 2, 2, 2),
                    **linear_adapters(maps(2, 2, 3), 1.0), channel_mask=True)


def test_fbkd_losses_are_zero_when_the_student_imitates_and_keep_finite_gradients():
    identity = dict(adapt_feature=lambda x: x, adapt_channel=lambda x: x, adapt_spatial=lambda x: x,
                    adapt_relation=lambda x: x)
    teacher = maps(16, 2, 4, 3, 3).float()
    student = teacher.clone().requires_grad_()
    relation = maps(17, 2, 4, 3, 3).float()
    s_rel, t_rel = relation.clone().requires_grad_(), relation.clone().requires_grad_()
    got = fbkd_losses(student, teacher, s_rel, t_rel, **identity)
    assert all(float(value.detach()) == 0.0 for value in got.values())
    sum(got.values()).backward()  # the norm's gradient at 0 is 0, not NaN
    for tensor in (student, s_rel, t_rel):
        assert torch.isfinite(tensor.grad).all() and float(tensor.grad.abs().sum()) == 0.0
    other = fbkd_losses(student + 0.1, teacher, s_rel + 0.1, t_rel, **identity)
    assert all(float(value.detach()) > 0 for value in other.values())


def test_fbkd_gradients_reach_the_student_and_the_teachers_relation_not_the_teachers_map():
    student = maps(18, 1, 2, 3, 3).float().requires_grad_()
    teacher = maps(19, 1, 2, 3, 3).float().requires_grad_()
    s_rel, t_rel = maps(20, 1, 2, 3, 3).float().requires_grad_(), maps(21, 1, 2, 3, 3).float().requires_grad_()
    adapters = linear_adapters(torch.eye(2), 1.0)
    sum(fbkd_losses(student, teacher, s_rel, t_rel, **adapters).values()).backward()
    assert teacher.grad is None
    assert float(student.grad.abs().sum()) > 0 and float(s_rel.grad.abs().sum()) > 0
    assert float(t_rel.grad.abs().sum()) > 0  # the teacher's non-local block learns (the reference's)
    with pytest.raises(ValueError, match='channel adaptation gives'):
        fbkd_losses(student, teacher, s_rel, t_rel, **dict(adapters, adapt_channel=lambda x: x[:, :1]))
