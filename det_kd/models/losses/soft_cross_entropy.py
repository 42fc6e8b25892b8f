r"""Class-weighted soft cross-entropy of Chen et al. (2017), for softmax and sigmoid classifiers.

The classification distillation loss of the paper is

.. math::

    L_{cls} = \mu L_{hard}(P_s, y) + (1 - \mu) L_{soft}(P_s, P_t), \qquad
    L_{soft} = -\sum_c w_c P_t(c) \log P_s(c),

with :math:`P = \mathrm{softmax}(Z / T)` for teacher and student logits :math:`Z`, a background weight
:math:`w_{bg} = 1.5` and :math:`w_c = 1` for every object class. The weight applies to the soft term only.
A sigmoid objectness (MMDetection's default RPN) uses the binary form
:math:`-[P_t \log P_s + w_{bg} (1 - P_t) \log(1 - P_s)]` with :math:`P = \sigma(Z / T)`.

No :math:`T^2` factor is applied: the paper uses :math:`T = 1` ("no temperature works best for detection").
"""
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor, nn

from det_kd.utils.settings import check_number, check_temperature


def weighted_soft_cross_entropy(student_logits: Tensor,
                                teacher_logits: Tensor,
                                bg_weight: float = 1.5,
                                T: float = 1.0,
                                bg_index: int = -1) -> Tensor:
    r"""Per-sample class-weighted soft cross-entropy over ``C + 1`` classes.

    Computes :math:`-\sum_c w_c \, \mathrm{softmax}(t/T)_c \, \log\mathrm{softmax}(s/T)_c` with
    :math:`w_{bg\_index} = bg\_weight` and :math:`w_c = 1` otherwise.

    Args:
        student_logits (Tensor): Student logits of shape ``(N, C + 1)``.
        teacher_logits (Tensor): Teacher logits of shape ``(N, C + 1)``; no gradient flows into them.
        bg_weight (float): Weight of the background class. Defaults to 1.5.
        T (float): Softmax temperature applied to both. Defaults to 1.0.
        bg_index (int): Index of the background class (MMDetection puts it last). Defaults to -1.

    Returns:
        Tensor: One loss value per sample, shape ``(N,)`` (no reduction).
    """
    if student_logits.shape != teacher_logits.shape or student_logits.dim() != 2:
        raise ValueError('weighted_soft_cross_entropy expects student and teacher logits of the same '
                         f'shape (N, C + 1), got {tuple(student_logits.shape)} and '
                         f'{tuple(teacher_logits.shape)}')
    teacher_prob = F.softmax(teacher_logits.detach().float() / T, dim=1)
    student_log_prob = F.log_softmax(student_logits.float() / T, dim=1)
    class_weight = student_logits.new_ones(student_logits.size(1), dtype=torch.float32)
    class_weight[bg_index] = bg_weight
    return -(class_weight * teacher_prob * student_log_prob).sum(dim=1)


def weighted_soft_binary_cross_entropy(student_logits: Tensor,
                                       teacher_logits: Tensor,
                                       bg_weight: float = 1.5,
                                       T: float = 1.0) -> Tensor:
    r"""Per-sample class-weighted soft binary cross-entropy for sigmoid objectness logits.

    Computes :math:`-[p_t \log p_s + bg\_weight\,(1 - p_t) \log(1 - p_s)]` with :math:`p = \sigma(z / T)`
    (foreground probability; ``1 - p`` is the background probability).

    Args:
        student_logits (Tensor): Student objectness logits of shape ``(N,)``.
        teacher_logits (Tensor): Teacher objectness logits of shape ``(N,)``; no gradient flows into them.
        bg_weight (float): Weight of the background term. Defaults to 1.5.
        T (float): Temperature applied to both logits. Defaults to 1.0.

    Returns:
        Tensor: One loss value per sample, shape ``(N,)`` (no reduction).
    """
    if student_logits.shape != teacher_logits.shape:
        raise ValueError('weighted_soft_binary_cross_entropy expects logits of the same shape, got '
                         f'{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}')
    teacher_fg = torch.sigmoid(teacher_logits.detach().float() / T)
    student_scaled = student_logits.float() / T
    # log(sigmoid(z)) and log(1 - sigmoid(z)) = log(sigmoid(-z)), computed stably.
    return -(teacher_fg * F.logsigmoid(student_scaled) +
             bg_weight * (1 - teacher_fg) * F.logsigmoid(-student_scaled))


@MODELS.register_module()
class WeightedSoftCrossEntropyLoss(nn.Module):
    r"""The soft part :math:`(1 - \mu) L_{soft}` of the paper's classification distillation loss.

    The hard part :math:`\mu L_{hard}` is the detector's own classification loss scaled by :attr:`mu`
    (see :class:`~det_kd.models.detectors.KDFasterRCNN`), so both share the sampled anchors / RoIs and the
    normalisation ``avg_factor`` of the hard loss.

    Args:
        mu (float): Weight of the hard loss; the soft loss gets ``1 - mu``. Defaults to 0.5 (not given in
            the paper).
        bg_weight (float): Background class weight :math:`w_{bg}`. Defaults to 1.5.
        T (float): Temperature. Defaults to 1.0.
        use_sigmoid (bool): Binary form for sigmoid logits of shape ``(N,)`` instead of the softmax form
            over ``(N, C + 1)``. The detector sets it from the head it distils. Defaults to False.
    """

    def __init__(self,
                 mu: float = 0.5,
                 bg_weight: float = 1.5,
                 T: float = 1.0,
                 use_sigmoid: bool = False) -> None:
        super().__init__()
        self.mu = check_number(mu, 'WeightedSoftCrossEntropyLoss: mu', 0.0, 1.0)
        self.bg_weight = check_number(bg_weight, 'WeightedSoftCrossEntropyLoss: bg_weight', 0.0, low_open=True)
        self.T = check_temperature(T, 'WeightedSoftCrossEntropyLoss: temperature T')
        self.use_sigmoid = use_sigmoid

    def forward(self,
                student_logits: Tensor,
                teacher_logits: Tensor,
                weight: Tensor,
                avg_factor: float,
                scale: float = 1.0) -> Tensor:
        r"""Computes :math:`scale \cdot (1 - \mu) \sum_i w_i L_{soft,i} / avg\_factor`.

        Args:
            student_logits (Tensor): ``(N, C + 1)`` (softmax) or ``(N,)`` (sigmoid) logits.
            teacher_logits (Tensor): Teacher logits of the same shape, for the same samples.
            weight (Tensor): Per-sample weights ``(N,)``: the hard loss's label weights (0 for samples
                the sampler did not pick).
            avg_factor (float): The hard loss's normaliser (number of sampled anchors / RoIs).
            scale (float): Distillation-schedule multiplier. Defaults to 1.0.

        Returns:
            Tensor: A scalar loss.
        """
        if self.use_sigmoid:
            per_sample = weighted_soft_binary_cross_entropy(student_logits, teacher_logits,
                                                            self.bg_weight, self.T)
        else:
            per_sample = weighted_soft_cross_entropy(student_logits, teacher_logits, self.bg_weight,
                                                     self.T)
        return scale * (1 - self.mu) * (per_sample * weight.float()).sum() / max(float(avg_factor), 1.0)

    def extra_repr(self) -> str:
        return f'mu={self.mu}, bg_weight={self.bg_weight}, T={self.T}, use_sigmoid={self.use_sigmoid}'
