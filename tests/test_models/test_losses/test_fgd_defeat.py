"""FGD's and DeFeat's functional forms against independent computations on small hand-made tensors: masks on
hand-drawn boxes with their exact expected cells, losses against loops / closed forms and against step-by-step
transcriptions of the reference implementations' algorithms."""
import math

import pytest
import torch
import torch.nn.functional as F

from det_kd.models.losses.box_masks import box_cell_ranges, map_cell_size, paint_cells, sample_boxes
from det_kd.models.losses.decoupled_features import (decoupled_feature_imitation, decoupled_roi_distillation,
                                                     defeat_box_levels, defeat_object_mask)
from det_kd.models.losses.focal_global_distillation import (FGDContextBlock, fgd_attention, fgd_attention_loss,
                                                            fgd_feature_losses, fgd_losses, fgd_masks,
                                                            fgd_relation_loss)


def maps(seed, *shape, dtype=torch.float32):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator, dtype=dtype)


# ----------------------------------------------------------------------------------------------- box -> cells
def test_box_cell_ranges_round_as_each_method():
    boxes = torch.tensor([[16.0, 16.0, 40.0, 30.0], [-3.0, 5.0, 9.0, 64.0]])
    outward = box_cell_ranges(boxes, (16.0, 16.0), (4, 4), 'outward')
    # floor(1.0)=1 .. ceil(2.5)=3 (both included -> end 4); rows floor(1)=1 .. ceil(1.875)=2 -> end 3.
    # The second: floor(-0.1875)=-1 .. ceil(0.5625)=1 -> end 2; rows 0 .. ceil(4)=4 -> end 5 (not clipped).
    assert outward.tolist() == [[1, 1, 4, 3], [-1, 0, 2, 5]]
    truncate = box_cell_ranges(boxes, (16.0, 16.0), (4, 4), 'truncate')
    # int(1.0)=1 .. int(2.5)=2 (end excluded): one column; rows 1 .. int(1.875)=1: empty -> the cell (1, 1).
    # The second: max(int(-0.19)=0, 0) .. int(0.56)=0: empty -> the cell (0, 0).
    assert truncate.tolist() == [[1, 1, 2, 2], [0, 0, 1, 1]]
    with pytest.raises(ValueError, match='rounding'):
        box_cell_ranges(boxes, (16.0, 16.0), (4, 4), 'round')


def test_paint_cells_takes_the_largest_value_and_ignores_what_lies_outside():
    ranges = torch.tensor([[0, 0, 2, 2], [1, 1, 5, 3], [-2, 3, 1, 9]])
    painted = paint_cells(ranges, torch.tensor([0.5, 0.25, 2.0]), (4, 3))
    expected = torch.tensor([[0.5, 0.5, 0.0], [0.5, 0.5, 0.25], [0.0, 0.25, 0.25], [2.0, 0.0, 0.0]])
    assert torch.equal(painted, expected)
    assert torch.equal(paint_cells(torch.zeros(0, 4, dtype=torch.long), torch.zeros(0), (2, 2)), torch.zeros(2, 2))


def test_map_cell_size_uses_the_padded_batch_and_sample_boxes_reads_the_ground_truth():
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    sample = DetDataSample(metainfo=dict(img_shape=(40, 60), pad_shape=(64, 64), batch_input_shape=(64, 96)))
    assert map_cell_size(sample.metainfo, (8, 12)) == (8.0, 8.0)
    assert map_cell_size(dict(img_shape=(40, 60)), (5, 6)) == (8.0, 10.0)
    assert sample_boxes(sample).shape == (0, 4)
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[1.0, 2.0, 3.0, 4.0]]), labels=torch.tensor([0]))
    assert sample_boxes(sample).tolist() == [[1.0, 2.0, 3.0, 4.0]]


# ------------------------------------------------------------------------------------------------------ FGD
def test_fgd_masks_on_a_hand_drawn_box():
    """A 4x4 map of a 64x64 batch (16-pixel cells); the box (16, 16, 40, 30) covers columns 1-3 and rows 1-2."""
    fg, bg = fgd_masks([torch.tensor([[16.0, 16.0, 40.0, 30.0]])], (4, 4), [(16.0, 16.0)])
    a, b = 1 / 6, 1 / 10
    expected_fg = torch.tensor([[0, 0, 0, 0], [0, a, a, a], [0, a, a, a], [0, 0, 0, 0]])
    expected_bg = torch.tensor([[b, b, b, b], [b, 0, 0, 0], [b, 0, 0, 0], [b, b, b, b]])
    assert torch.allclose(fg[0], expected_fg) and torch.allclose(bg[0], expected_bg)
    assert float(bg.sum()) == pytest.approx(1.0)


def test_fgd_masks_overlaps_the_edge_and_an_image_without_boxes():
    boxes = [
        torch.tensor([[0.0, 0.0, 16.0, 16.0],  # cells 0-1 x 0-1: 1/4
                      [16.0, 16.0, 20.0, 20.0],  # cells 1-2 x 1-2: 1/4; overlaps the first at (1, 1)
                      [40.0, 48.0, 64.0, 64.0]]),  # cols 2-4 x rows 3-4 counted (1/6), painted cols 2-3, row 3
        torch.zeros(0, 4)
    ]
    fg, bg = fgd_masks(boxes, (4, 4), [(16.0, 16.0)] * 2)
    q, s = 1 / 4, 1 / 6
    expected = torch.tensor([[q, q, 0, 0], [q, q, q, 0], [0, q, q, 0], [0, 0, s, s]])
    assert torch.allclose(fg[0], expected)
    assert torch.allclose(bg[0], (expected == 0).float() / 7)
    assert float(fg[1].abs().sum()) == 0.0 and torch.allclose(bg[1], torch.full((4, 4), 1 / 16))


def reference_fgd_masks(boxes, img_size, map_size):
    """FGD's mask loop, step by step: boxes scaled to the map, floor / ceil, slices, 1 / area, max."""
    height, width = map_size
    fg = torch.zeros(len(boxes), height, width)
    bg = torch.ones(len(boxes), height, width)
    for i, sample_boxes_ in enumerate(boxes):
        for x1, y1, x2, y2 in sample_boxes_.tolist():
            wmin, wmax = math.floor(x1 / img_size[1] * width), math.ceil(x2 / img_size[1] * width)
            hmin, hmax = math.floor(y1 / img_size[0] * height), math.ceil(y2 / img_size[0] * height)
            area = 1.0 / (hmax + 1 - hmin) / (wmax + 1 - wmin)
            region = fg[i, hmin:hmax + 1, wmin:wmax + 1]
            fg[i, hmin:hmax + 1, wmin:wmax + 1] = torch.clamp(region, min=area)
        bg[i] = (fg[i] <= 0).float()
        if bg[i].sum():
            bg[i] /= bg[i].sum()
    return fg, bg


def test_fgd_masks_equal_the_reference_loop_on_random_boxes():
    generator = torch.Generator().manual_seed(3)
    boxes = []
    for count in (5, 1, 3):
        corner = torch.rand(count, 2, generator=generator) * torch.tensor([90.0, 60.0])
        size = torch.rand(count, 2, generator=generator) * 40 + 1
        boxes.append(torch.cat([corner, (corner + size).clamp(max=torch.tensor([128.0, 96.0]))], dim=1))
    fg, bg = fgd_masks(boxes, (6, 8), [(16.0, 16.0)] * 3)
    expected_fg, expected_bg = reference_fgd_masks(boxes, (96, 128), (6, 8))
    assert torch.allclose(fg, expected_fg) and torch.allclose(bg, expected_bg)


def test_fgd_attention_against_loops():
    feat = maps(0, 2, 3, 2, 3)
    spatial, channel = fgd_attention(feat, 0.5)
    for n in range(2):
        means = [[sum(abs(float(feat[n, c, i, j])) for c in range(3)) / 3 for j in range(3)] for i in range(2)]
        total = sum(math.exp(v / 0.5) for row in means for v in row)
        for i in range(2):
            for j in range(3):
                assert float(spatial[n, i, j]) == pytest.approx(6 * math.exp(means[i][j] / 0.5) / total, rel=1e-5)
        channel_means = [float(feat[n, c].abs().mean()) for c in range(3)]
        total = sum(math.exp(v / 0.5) for v in channel_means)
        for c in range(3):
            assert float(channel[n, c]) == pytest.approx(3 * math.exp(channel_means[c] / 0.5) / total, rel=1e-5)


def test_fgd_feature_and_attention_losses_against_loops():
    student, teacher = maps(1, 2, 3, 2, 3), maps(2, 2, 3, 2, 3)
    fg_mask, bg_mask = torch.rand(2, 2, 3, generator=torch.Generator().manual_seed(4)), torch.rand(2, 2, 3)
    temp = 0.7
    fg, bg = fgd_feature_losses(student, teacher, fg_mask, bg_mask, temp)
    spatial_t, channel_t = fgd_attention(teacher, temp)
    spatial_s, channel_s = fgd_attention(student, temp)
    attention = fgd_attention_loss(student, teacher, temp)
    for n in range(2):
        exp_fg = exp_bg = 0.0
        for c in range(3):
            for i in range(2):
                for j in range(3):
                    weight = float(spatial_t[n, i, j]) * float(channel_t[n, c])
                    diff2 = (float(student[n, c, i, j]) - float(teacher[n, c, i, j]))**2
                    exp_fg += float(fg_mask[n, i, j]) * weight * diff2
                    exp_bg += float(bg_mask[n, i, j]) * weight * diff2
        assert float(fg[n]) == pytest.approx(exp_fg, rel=1e-5)
        assert float(bg[n]) == pytest.approx(exp_bg, rel=1e-5)
        exp_at = sum(abs(float(channel_s[n, c] - channel_t[n, c])) for c in range(3)) + sum(
            abs(float(spatial_s[n, i, j] - spatial_t[n, i, j])) for i in range(2) for j in range(3))
        assert float(attention[n]) == pytest.approx(exp_at, rel=1e-5)


def explicit_context_block(block, x):
    """The GcBlock written out: softmax weights over positions, weighted sum, bottleneck with LayerNorm."""
    out = torch.empty_like(x)
    wk, bk = block.conv_mask.weight.reshape(-1), float(block.conv_mask.bias)
    w1, b1 = block.channel_add[0].weight[:, :, 0, 0], block.channel_add[0].bias
    gamma, beta = block.channel_add[1].weight.reshape(-1), block.channel_add[1].bias.reshape(-1)
    w2, b2 = block.channel_add[3].weight[:, :, 0, 0], block.channel_add[3].bias
    for n in range(x.shape[0]):
        positions = x[n].reshape(x.shape[1], -1)  # (C, HW)
        logits = [float(wk @ positions[:, p]) + bk for p in range(positions.shape[1])]
        top = max(logits)
        weights = torch.tensor([math.exp(v - top) for v in logits])
        weights = weights / weights.sum()
        context = positions @ weights
        hidden = w1 @ context + b1
        hidden = (hidden - hidden.mean()) / torch.sqrt(hidden.var(unbiased=False) + 1e-5) * gamma + beta
        added = w2 @ hidden.clamp(min=0) + b2
        out[n] = x[n] + added[:, None, None]
    return out


def test_fgd_relation_loss_against_an_explicit_gcblock():
    torch.manual_seed(0)
    student_block, teacher_block = FGDContextBlock(4), FGDContextBlock(4)
    for block in (student_block, teacher_block):  # leave the identity start: every parameter matters
        for param in block.parameters():
            param.data.normal_()
    student, teacher = maps(5, 2, 4, 3, 2), maps(6, 2, 4, 3, 2)
    got = fgd_relation_loss(student, teacher, student_block, teacher_block)
    with torch.no_grad():
        diff = explicit_context_block(student_block, student) - explicit_context_block(teacher_block, teacher)
    assert torch.allclose(got.detach(), diff.pow(2).sum(dim=(1, 2, 3)), rtol=1e-4)


def test_fgd_context_block_starts_as_the_identity_and_learns_on_both_sides():
    block = FGDContextBlock(6)
    x = maps(7, 2, 6, 3, 3)
    assert torch.equal(block(x), x)
    assert float(block.conv_mask.bias.abs().sum()) == 0.0
    student = maps(8, 2, 6, 3, 3).requires_grad_()
    teacher = maps(9, 2, 6, 3, 3).requires_grad_()
    teacher_block = FGDContextBlock(6)
    fgd_relation_loss(student, teacher, block, teacher_block).sum().backward()
    assert student.grad is not None and teacher.grad is None
    assert float(teacher_block.channel_add[-1].weight.grad.abs().sum()) > 0
    with pytest.raises(ValueError, match='at least 2 channels'):
        FGDContextBlock(1)


def reference_fgd_total(student, teacher, boxes, img_size, temp, weights, student_block, teacher_block):
    """The reference's forward written out: masks, sqrt-weighted maps, MSE sums over the batch size."""
    batch = student.shape[0]
    fg_mask, bg_mask = reference_fgd_masks(boxes, img_size, student.shape[-2:])
    spatial_t, channel_t = fgd_attention(teacher, temp)
    spatial_s, channel_s = fgd_attention(student, temp)
    scale_t = torch.sqrt(spatial_t[:, None]) * torch.sqrt(channel_t[:, :, None, None])
    fea_t, fea_s = teacher * scale_t, student * scale_t
    fg_loss = F.mse_loss(fea_s * torch.sqrt(fg_mask[:, None]), fea_t * torch.sqrt(fg_mask[:, None]),
                         reduction='sum') / batch
    bg_loss = F.mse_loss(fea_s * torch.sqrt(bg_mask[:, None]), fea_t * torch.sqrt(bg_mask[:, None]),
                         reduction='sum') / batch
    mask_loss = (channel_s - channel_t).abs().sum() / batch + (spatial_s - spatial_t).abs().sum() / batch
    rela_loss = F.mse_loss(explicit_context_block(student_block, student),
                           explicit_context_block(teacher_block, teacher), reduction='sum') / batch
    alpha, beta, gamma, lam = weights
    return alpha * fg_loss + beta * bg_loss + gamma * mask_loss + lam * rela_loss


def test_fgd_losses_weighted_and_averaged_equal_the_reference_forward():
    torch.manual_seed(1)
    student_block, teacher_block = FGDContextBlock(4), FGDContextBlock(4)
    for param in list(student_block.parameters()) + list(teacher_block.parameters()):
        param.data.normal_(0, 0.5)
    student, teacher = maps(10, 2, 4, 6, 8), maps(11, 2, 4, 6, 8)
    boxes = [torch.tensor([[10.0, 20.0, 70.0, 60.0], [50.0, 5.0, 120.0, 40.0]]), torch.tensor([[0.0, 0.0, 30.0, 90.0]])]
    fg, bg = fgd_masks(boxes, (6, 8), [(16.0, 16.0)] * 2)
    parts = fgd_losses(student, teacher, fg, bg, 0.5, student_block, teacher_block)
    weights = (5e-2, 2.5e-2, 5e-2, 5e-3)
    got = (weights[0] * parts['fg'] + weights[1] * parts['bg'] + weights[2] * parts['attention'] +
           weights[3] * parts['relation']).mean()
    with torch.no_grad():
        expected = reference_fgd_total(student, teacher, boxes, (96, 128), 0.5, weights, student_block, teacher_block)
    assert float(got) == pytest.approx(float(expected), rel=1e-4)


def test_fgd_imitation_parts_vanish_when_the_student_equals_the_teacher():
    feat = maps(12, 2, 4, 3, 5)
    fg, bg = fgd_masks([torch.tensor([[0.0, 0.0, 20.0, 20.0]])] * 2, (3, 5), [(8.0, 8.0)] * 2)
    parts = fgd_losses(feat, feat.clone(), fg, bg, 0.5, FGDContextBlock(4), FGDContextBlock(4))
    for key in ('fg', 'bg', 'attention', 'relation'):  # the blocks start as the identity: relation too
        assert float(parts[key].abs().max()) == 0.0, key


# --------------------------------------------------------------------------------------------------- DeFeat
def test_defeat_box_levels_at_the_boundaries():
    # sqrt((w + 1) (h + 1)): 111 -> level 0, 112 -> 1, 223 -> 1, 224 -> 2, huge -> the last level.
    boxes = torch.tensor([[0.0, 0.0, 110.0, 110.0], [5.0, 5.0, 116.0, 116.0], [0.0, 0.0, 222.0, 222.0],
                          [0.0, 0.0, 223.0, 223.0], [0.0, 0.0, 5000.0, 5000.0], [0.0, 0.0, 3.0, 3.0]])
    assert defeat_box_levels(boxes, 5).tolist() == [0, 1, 1, 2, 4, 0]
    assert defeat_box_levels(boxes, 2).tolist() == [0, 1, 1, 1, 1, 0]
    assert defeat_box_levels(boxes, 5, finest_scale=28.0).tolist() == [1, 2, 2, 3, 4, 0]


def test_defeat_object_mask_on_hand_drawn_boxes():
    """Level 0 at stride 8 on a 4x4 map: the box (3, 9, 21, 30) covers columns int(0.375)=0 to int(2.625)=2
    (excluded) and rows 1 to 3 (excluded); the box (9, 9, 14, 30) is less than a cell wide (columns 1 to 1):
    only its top-left cell (row 1, column 1); the 150-pixel box belongs to level 1."""
    boxes = [torch.tensor([[3.0, 9.0, 21.0, 30.0], [9.0, 9.0, 14.0, 30.0], [0.0, 0.0, 150.0, 150.0]])]
    level0 = defeat_object_mask(boxes, (4, 4), 0, (8, 16))
    expected = torch.tensor([[0, 0, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0]], dtype=torch.bool)
    assert torch.equal(level0[0], expected)
    level1 = defeat_object_mask(boxes, (2, 2), 1, (8, 16))  # 150 / 16 -> 9: clipped to the map
    assert torch.equal(level1[0], torch.ones(2, 2, dtype=torch.bool))
    single = defeat_object_mask([torch.tensor([[9.0, 9.0, 14.0, 30.0]])], (4, 4), 0, (8, 16))
    assert single[0].nonzero().tolist() == [[1, 1]]


def test_decoupled_feature_imitation_against_loops():
    student, teacher = maps(13, 2, 3, 3, 4), maps(14, 2, 3, 3, 4)
    objects = torch.rand(2, 3, 4, generator=torch.Generator().manual_seed(15)) > 0.6
    keep = torch.ones(2, 3, 4, dtype=torch.bool)
    keep[1, :, 0] = False
    for mask in (None, keep):
        obj, bg = decoupled_feature_imitation(student, teacher, objects, None if mask is None else mask[:, None])
        sums, counts = [0.0, 0.0], [0, 0]
        for n in range(2):
            for i in range(3):
                for j in range(4):
                    if mask is not None and not mask[n, i, j]:
                        continue
                    part = 0 if objects[n, i, j] else 1
                    counts[part] += 3
                    sums[part] += sum((float(student[n, c, i, j]) - float(teacher[n, c, i, j]))**2 for c in range(3))
        assert float(obj) == pytest.approx(sums[0] / max(1.0, 2 * counts[0]), rel=1e-5)
        assert float(bg) == pytest.approx(sums[1] / max(1.0, 2 * counts[1]), rel=1e-5)


def test_decoupled_feature_imitation_is_zero_on_equal_maps_and_without_objects():
    feat = maps(16, 2, 3, 2, 2).requires_grad_()
    objects = torch.zeros(2, 2, 2, dtype=torch.bool)
    obj, bg = decoupled_feature_imitation(feat, feat.detach().clone(), objects)
    assert float(obj) == 0.0 and float(bg) == 0.0
    obj, bg = decoupled_feature_imitation(feat, maps(17, 2, 3, 2, 2), objects)
    assert float(obj) == 0.0 and float(bg) > 0
    (obj + bg).backward()
    assert torch.isfinite(feat.grad).all()


def expected_kl(student, teacher, rows, T):
    if not rows:
        return 0.0
    total = 0.0
    for r in rows:
        s = [float(v) / T for v in student[r]]
        t = [float(v) / T for v in teacher[r]]
        zs, zt = sum(math.exp(v) for v in s), sum(math.exp(v) for v in t)
        total += sum(math.exp(b) / zt * (b - math.log(zt) - (a - math.log(zs))) for a, b in zip(s, t))
    return total / len(rows) * T * T


def test_decoupled_roi_distillation_against_loops():
    student, teacher = maps(18, 7, 4), maps(19, 7, 4)
    labels = torch.tensor([0, 3, 2, 3, 1, 3, 3])  # 3 classes: label 3 is background
    obj, bg = decoupled_roi_distillation(student, teacher, labels, 3, T_obj=2.0, T_bg=0.5)
    assert float(obj) == pytest.approx(expected_kl(student, teacher, [0, 2, 4], 2.0), rel=1e-5)
    assert float(bg) == pytest.approx(expected_kl(student, teacher, [1, 3, 5, 6], 0.5), rel=1e-5)
    covered = torch.tensor([True, True, False, False, True, True, True])
    obj, bg = decoupled_roi_distillation(student, teacher, labels, 3, covered=covered)
    assert float(obj) == pytest.approx(expected_kl(student, teacher, [0, 4], 1.0), rel=1e-5)
    assert float(bg) == pytest.approx(expected_kl(student, teacher, [1, 5, 6], 1.0), rel=1e-5)


def test_decoupled_roi_distillation_empty_sets_equal_logits_and_gradients():
    student = maps(20, 4, 3).requires_grad_()
    teacher = maps(21, 4, 3).requires_grad_()
    obj, bg = decoupled_roi_distillation(student, teacher, torch.tensor([2, 2, 2, 2]), 2)
    assert float(obj) == 0.0 and float(bg) > 0
    (obj + bg).backward()
    assert student.grad is not None and teacher.grad is None
    obj, bg = decoupled_roi_distillation(teacher.detach(), teacher.detach().clone(), torch.tensor([0, 1, 2, 2]), 2)
    assert float(obj) == pytest.approx(0.0, abs=1e-7) and float(bg) == pytest.approx(0.0, abs=1e-7)
    with pytest.raises(ValueError, match='T_bg'):
        decoupled_roi_distillation(student, teacher, torch.tensor([0, 1, 2, 2]), 2, T_bg=0.0)
