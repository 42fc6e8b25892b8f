"""Hint loss: mean over elements, L2 and L1."""
import pytest
import torch

from det_kd.models.losses import HintLoss, hint_loss


def test_l2_and_l1_are_means_over_elements():
    student = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    teacher = torch.tensor([[[[0.0, 2.0], [5.0, 4.5]]]])
    assert hint_loss(student, teacher).item() == pytest.approx((1 + 0 + 4 + 0.25) / 4)
    assert hint_loss(student, teacher, 'l1').item() == pytest.approx((1 + 0 + 2 + 0.5) / 4)
    assert HintLoss(loss_weight=0.5)(student, teacher, scale=0.5).item() == pytest.approx(0.25 * 5.25 / 4)


def test_shape_mismatch_and_bad_mode_are_errors():
    with pytest.raises(ValueError, match='differ in shape'):
        hint_loss(torch.zeros(1, 2, 3, 3), torch.zeros(1, 2, 4, 3))
    with pytest.raises(ValueError, match="'l2' or 'l1'"):
        HintLoss(mode='cos')


def test_without_mask_the_loss_is_bit_identical_to_the_plain_mean():
    torch.manual_seed(0)
    student, teacher = torch.randn(2, 3, 5, 7), torch.randn(2, 3, 5, 7)
    assert torch.equal(hint_loss(student, teacher), torch.nn.functional.mse_loss(student, teacher))
    assert torch.equal(hint_loss(student, teacher, 'l1', mask=None),
                       torch.nn.functional.l1_loss(student, teacher))


def test_masked_mean_over_valid_cells_and_channels():
    student = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]], [[0.0, 0.0], [0.0, 1.0]]]], requires_grad=True)
    teacher = torch.tensor([[[[0.0, 2.0], [5.0, 4.5]], [[1.0, 0.0], [9.0, 9.0]]]])
    mask = torch.tensor([[[[True, False], [True, False]]]])  # (B, 1, H, W): the left column, both channels
    # valid elements: (1 - 0)^2, (3 - 5)^2 in channel 0, (0 - 1)^2, (0 - 9)^2 in channel 1
    assert hint_loss(student, teacher, mask=mask).item() == pytest.approx((1 + 4 + 1 + 81) / 4)
    assert hint_loss(student, teacher, 'l1', mask=mask).item() == pytest.approx((1 + 2 + 1 + 9) / 4)
    loss = HintLoss(loss_weight=0.5)(student, teacher, scale=0.5, mask=mask)
    assert loss.item() == pytest.approx(0.25 * 87 / 4)
    loss.backward()
    assert (student.grad[..., 1] == 0).all() and (student.grad[..., 0] != 0).all()
    full = torch.ones(1, 1, 2, 2, dtype=torch.bool)
    assert hint_loss(student, teacher, mask=full).item() == pytest.approx(hint_loss(student, teacher).item())


def test_a_mask_without_valid_cells_gives_zero_in_the_graph():
    student = torch.randn(2, 3, 4, 4, requires_grad=True)
    loss = HintLoss()(student, torch.randn(2, 3, 4, 4), mask=torch.zeros(2, 1, 4, 4, dtype=torch.bool))
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert torch.equal(student.grad, torch.zeros_like(student))


def test_mask_that_does_not_broadcast_is_an_error():
    with pytest.raises(ValueError, match=r'mask of shape \(1, 1, 3, 3\) does not broadcast'):
        hint_loss(torch.zeros(1, 2, 4, 4), torch.zeros(1, 2, 4, 4),
                  mask=torch.ones(1, 1, 3, 3, dtype=torch.bool))
