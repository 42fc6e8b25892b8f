r"""DIST (Huang et al., NeurIPS 2022, "Knowledge Distillation from A Stronger Teacher"): match the *relations*
of the two models' class probabilities instead of the probabilities themselves.

With :math:`Y^s = \mathrm{softmax}(Z^s / \tau)` and :math:`Y^t = \mathrm{softmax}(Z^t / \tau)` (softmax over the
classes, one row per sample):

.. math::

    \tau^2 \Big(\beta \big(1 - \tfrac{1}{N} \textstyle\sum_i \rho(Y^s_{i,:}, Y^t_{i,:})\big)
    + \gamma \big(1 - \tfrac{1}{K} \textstyle\sum_j \rho(Y^s_{:,j}, Y^t_{:,j})\big)\Big)

the inter-class relation (``inter_weight`` :math:`\beta`, Pearson correlation of each row across the classes)
and the intra-class relation (``intra_weight`` :math:`\gamma`, of each class column across the samples). As
the reference (``hunto/image_classification_sota`` ``lib/models/losses/dist_kd.py``, MMRazor's
``mmrazor/models/losses/dist_loss.py``): :math:`\rho(a, b) = \langle a - \bar a, b - \bar b\rangle /
(\lVert a - \bar a\rVert \lVert b - \bar b\rVert + 10^{-8})`, plain means over rows and over columns, no
gradient into the teacher. The eps matters where the probabilities barely vary (an untrained head's are
nearly uniform: equal logits then give slightly more than 0).
"""
import torch
from torch import Tensor

#: Added to the product of the two norms in the Pearson correlation (the reference's ``eps``).
DIST_EPS = 1e-8


def pearson_rows(a: Tensor, b: Tensor, eps: float = DIST_EPS) -> Tensor:
    """``(N, K), (N, K) -> (N,)``: each row's Pearson correlation across its ``K`` entries, with ``eps`` added
    to the product of the centred rows' norms (a constant row correlates 0)."""
    a = a - a.mean(dim=1, keepdim=True)
    b = b - b.mean(dim=1, keepdim=True)
    return (a * b).sum(dim=1) / (a.norm(dim=1) * b.norm(dim=1) + eps)


def dist_loss(student_logits: Tensor,
              teacher_logits: Tensor,
              tau: float = 1.0,
              inter_weight: float = 1.0,
              intra_weight: float = 1.0) -> Tensor:
    """DIST between two ``(N, K)`` logit matrices (rows: samples, columns: classes).

    Args:
        student_logits (Tensor): ``(N, K)``.
        teacher_logits (Tensor): ``(N, K)``; no gradient flows into it.
        tau (float): Temperature of both softmaxes (> 0); the loss is multiplied by ``tau ** 2``. Defaults to 1.
        inter_weight (float): ``beta``, the weight of the inter-class relation (rows). Defaults to 1.
        intra_weight (float): ``gamma``, the weight of the intra-class relation (columns). Defaults to 1.

    Returns:
        Tensor: A scalar, at least float32 (half precision is computed in float32). No row gives 0 (in the
        graph); a single row's intra-class term is the reference's 1 (a one-sample column is constant:
        correlation 0), with no gradient.
    """
    if student_logits.dim() != 2 or student_logits.shape != teacher_logits.shape:
        raise ValueError(f'dist_loss: needs two (N, K) logit matrices of the same shape, got '
                         f'{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}')
    if not tau > 0:
        raise ValueError(f'dist_loss: tau must be > 0, got {tau!r}')
    if student_logits.size(0) == 0:
        return student_logits.sum().float() * 0.0
    dtype = torch.promote_types(student_logits.dtype, torch.float32)
    y_s = torch.softmax(student_logits.to(dtype) / tau, dim=1)
    y_t = torch.softmax(teacher_logits.detach().to(dtype) / tau, dim=1)
    inter = 1.0 - pearson_rows(y_s, y_t).mean()
    intra = 1.0 - pearson_rows(y_s.t(), y_t.t()).mean()
    return tau * tau * (inter_weight * inter + intra_weight * intra)
