"""align='centre': the student map sampled where each teacher cell is centred, uncovered cells masked."""
import pytest
import torch
import torch.nn.functional as F

from det_kd.models.distillation import Geometry, HintAdapter, align_centres, align_spatial, image_mask

# student cells centred at 1, 3, 5 ..; teacher cells at 0, 2, 4 ..
HALF_CELL_STUDENT, TEACHER = Geometry(2, 1), Geometry(2, 0)


def test_half_cell_shift_is_the_mean_of_the_two_neighbours_and_the_ends_are_masked():
    # student x-cells centred at 1, 3, 5, 7; teacher cells at 0, 2, 4, 6, 8; both rows of the student alike
    student = torch.tensor([1.0, 2.0, 4.0, 8.0]).expand(1, 1, 2, 4)
    aligned, covered = align_centres(student, (2, 5), HALF_CELL_STUDENT, TEACHER)
    # teacher x = 0 is left of the first student centre (1), x = 8 right of the last (7); row 0 (y = 0) too
    assert covered.tolist() == [[False] * 5, [False, True, True, True, False]]
    assert aligned[0, 0, 1, 1:4].tolist() == [1.5, 3.0, 6.0]


def test_quarter_cell_weights_on_a_two_dimensional_map():
    # student stride 4 offset 1, teacher stride 2 offset 0: teacher n is at student index (2 n - 1) / 4
    student = torch.arange(12.0).reshape(1, 1, 3, 4) ** 2
    aligned, covered = align_centres(student, (5, 8), Geometry(4, 1), TEACHER)
    s = student[0, 0]
    u = {1: (0, 0.25), 2: (0, 0.75), 3: (1, 0.25), 4: (1, 0.75)}  # teacher index -> (floor, fraction)
    for ny, (iy, fy) in u.items():
        for nx in range(1, 8):
            ix, fx = divmod(2 * nx - 1, 4)
            fx /= 4
            if ix >= 3:  # beyond the last student column (index 3)
                assert not covered[ny, nx]
                continue
            expected = ((1 - fy) * (1 - fx) * s[iy, ix] + (1 - fy) * fx * s[iy, ix + 1] +
                        fy * (1 - fx) * s[iy + 1, ix] + fy * fx * s[iy + 1, ix + 1])
            assert covered[ny, nx]
            assert aligned[0, 0, ny, nx].item() == pytest.approx(expected.item()), (ny, nx)
    assert not covered[0].any() and not covered[:, 0].any()


def test_matches_grid_sample_with_align_corners_on_the_covered_cells():
    torch.manual_seed(0)
    student = torch.randn(2, 3, 6, 9)
    student_geometry, teacher_geometry = Geometry(16, 15), Geometry(16, 7.5)  # AlexNet conv5, VGG16 conv5_3
    aligned, covered = align_centres(student, (7, 10), student_geometry, teacher_geometry)
    ys = (7.5 + 16 * torch.arange(7.0) - 15) / 16
    xs = (7.5 + 16 * torch.arange(10.0) - 15) / 16
    grid = torch.stack(torch.broadcast_tensors(2 * xs[None, :] / 8 - 1, 2 * ys[:, None] / 5 - 1), -1)
    reference = F.grid_sample(student, grid.expand(2, 7, 10, 2), mode='bilinear', align_corners=True)
    expected_cover = ((ys >= 0) & (ys <= 5))[:, None] & ((xs >= 0) & (xs <= 8))[None, :]
    assert torch.equal(covered, expected_cover)
    assert covered.sum() == 5 * 8  # the first row / column (index -0.47) and the last beyond 5 / 8
    assert torch.allclose(aligned[..., covered], reference[..., covered], atol=1e-6)
    assert (aligned[..., ~covered] == 0).all()


def test_same_geometry_and_size_is_the_identity():
    student = torch.randn(1, 4, 5, 6)
    aligned, covered = align_centres(student, (5, 6), Geometry(16, 7.5), Geometry(16, 7.5))
    assert torch.equal(aligned, student) and covered.all()


def test_gradient_reaches_only_the_student_cells_used():
    student = torch.zeros(1, 1, 2, 4, requires_grad=True)
    aligned, covered = align_centres(student, (2, 5), HALF_CELL_STUDENT, TEACHER)
    aligned[0, 0, 1, 1].backward()  # teacher (y=2, x=2): student (0.5, 0.5)
    assert student.grad[0, 0].tolist() == [[0.25, 0.25, 0, 0], [0.25, 0.25, 0, 0]]


def test_image_mask_keeps_cells_centred_on_each_samples_real_image():
    # teacher cells at 7.5, 23.5, 39.5, 55.5 (rows) and up to 87.5 (columns)
    mask = image_mask(Geometry(16, 7.5), (4, 6), [(64, 96, 3), (30, 50)])
    assert mask.shape == (2, 1, 4, 6)
    assert mask[0].all()
    assert mask[1, 0].tolist() == [[True] * 3 + [False] * 3] * 2 + [[False] * 6] * 2


def test_adapter_masks_cells_outside_the_student_map_and_the_image():
    adapter = HintAdapter(3, 4, align='centre', student_geometry=HALF_CELL_STUDENT, teacher_geometry=TEACHER)
    student = torch.randn(2, 3, 3, 4)
    out = adapter(student, (3, 5))
    assert out.shape == (2, 4, 3, 5)
    assert torch.allclose(out, align_centres(adapter.conv(student), (3, 5), HALF_CELL_STUDENT, TEACHER)[0])
    alone = adapter.valid_mask((3, 4), (3, 5))
    assert alone.shape == (1, 1, 3, 5)
    assert alone[0, 0].tolist() == [[False] * 5] + [[False, True, True, True, False]] * 2
    # teacher cells at y = 0, 2, 4 and x = 0 .. 8; the second image keeps y < 3.5, x < 4.5
    with_images = adapter.valid_mask((3, 4), (3, 5), [(6, 8), (4, 5)])
    assert torch.equal(with_images[0], alone[0])
    assert with_images[1, 0].tolist() == [[False] * 5, [False, True, True, False, False], [False] * 5]
    assert HintAdapter(3, 4).valid_mask((3, 4), (3, 5)) is None
    assert "student_geometry=(2.0, 1.0)" in repr(adapter)


def test_bad_modes_name_the_valid_ones():
    with pytest.raises(ValueError, match=r"align must be one of \('pad', 'resample', 'strict', 'centre'\), "
                                         r"got 'center'"):
        HintAdapter(3, 4, align='center')
    with pytest.raises(ValueError, match="align='centre' needs student_geometry and teacher_geometry"):
        HintAdapter(3, 4, align='centre', student_geometry=Geometry(16, 0))
    with pytest.raises(ValueError, match="see align_centres"):
        align_spatial(torch.zeros(1, 1, 2, 2), (3, 3), 'centre')
