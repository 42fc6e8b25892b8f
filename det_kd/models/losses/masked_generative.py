r"""Masked generative distillation (MGD, Yang et al., ECCV 2022): the student map, with random positions
zeroed, through a small generator must reproduce the teacher map.

Per sample :math:`\sum_{c,h,w} \big(\mathcal G(f^S \odot M)_{chw} - f^T_{chw}\big)^2` with :math:`M_{hw} = 0`
where a uniform draw :math:`R_{hw} > 1 - \lambda` (about a fraction :math:`\lambda` of the positions masked) and
1 elsewhere (the authors' ``get_dis_loss``, whose batch mean this is: MSE summed over the batch over ``N``).
The mask is an argument (:func:`random_keep_mask` draws it); the generator is the caller's module.
"""
from typing import Callable, Optional, Sequence

import torch
from torch import Tensor

from .feature_mask import check_pair, position_mask


def random_keep_mask(shape: Sequence[int], lambda_mgd: float, generator: Optional[torch.Generator] = None) -> Tensor:
    r"""MGD's random mask: 0 where a uniform draw in ``[0, 1)`` exceeds ``1 - lambda_mgd``, else 1.

    Args:
        shape (Sequence[int]): E.g. ``(N, 1, H, W)`` (one draw per sample and position, as the authors).
        lambda_mgd (float): The masked ratio :math:`\lambda` in ``[0, 1]``.
        generator (torch.Generator, optional): A CPU generator to draw from. Defaults to None (the global
            CPU stream).

    Returns:
        Tensor: Float 0 / 1 of ``shape``, on the CPU.
    """
    if not 0.0 <= lambda_mgd <= 1.0:
        raise ValueError(f'random_keep_mask: lambda_mgd must be in [0, 1], got {lambda_mgd!r}')
    draws = torch.rand(tuple(shape), generator=generator)
    return (draws <= 1.0 - lambda_mgd).float()


def masked_generative_distance(student_feat: Tensor,
                               teacher_feat: Tensor,
                               generation: Callable[[Tensor], Tensor],
                               keep: Tensor,
                               mask: Optional[Tensor] = None) -> Tensor:
    """Per sample, the squared error of ``generation(student_feat * keep)`` to the teacher map, summed.

    Args:
        student_feat (Tensor): ``(N, C, H, W)``, already at the teacher's channels (after any align conv).
        teacher_feat (Tensor): ``(N, C, H, W)``; no gradient flows into it.
        generation (callable): The generator, ``(N, C, H, W) -> (N, C, H, W)``.
        keep (Tensor): 0 / 1 (or bools) broadcastable to ``student_feat``, e.g. ``(N, 1, H, W)`` from
            :func:`random_keep_mask`: the student positions the generator sees (0: zeroed).
        mask (Tensor, optional): Booleans broadcastable to ``(N, 1, H, W)``: the teacher cells compared (a
            sample without one gives 0). Defaults to None (all).

    Returns:
        Tensor: ``(N,)``.
    """
    what = 'masked_generative_distance'
    check_pair(student_feat, teacher_feat, what, same_channels=True)
    try:
        torch.broadcast_shapes(tuple(keep.shape), tuple(student_feat.shape))
    except RuntimeError:
        raise ValueError(f'{what}: keep of shape {tuple(keep.shape)} does not broadcast to the student map '
                         f'{tuple(student_feat.shape)}') from None
    keep = keep.to(device=student_feat.device, dtype=student_feat.dtype)
    generated = generation(student_feat * keep)
    if generated.shape != teacher_feat.shape:
        raise ValueError(f'{what}: the generator gives {tuple(generated.shape)} for a teacher map of '
                         f'{tuple(teacher_feat.shape)}')
    error = (generated.float() - teacher_feat.detach().float()).pow(2).sum(dim=1).flatten(1)  # (N, H * W)
    compared = position_mask(mask, teacher_feat, what)
    if compared is not None:
        error = error * compared.float()
    return error.sum(dim=1)
