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
