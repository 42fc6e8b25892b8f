"""Combination rules of several teachers: their class scores and box deltas as one, for the head terms.

Hinton et al. distil "a (set of) large, cumbersome model(s)": the soft targets of an ensemble are the
weighted mean of the teachers' **probabilities** (not of their logits). The head terms take teacher logits
and apply their own temperature ``T``, so the ensemble is handed to them as the logits whose tempered
probabilities are that mean: for a softmax over classes ``L = T log(sum_k w_k softmax(z_k / T))`` (then
``softmax(L / T) = sum_k w_k softmax(z_k / T)`` exactly), for a sigmoid objectness
``L = T logit(sum_k w_k sigmoid(z_k / T))``. The bounded regression gate compares the student's error with
the ensemble's deltas: their weighted mean (default), or per box the deltas of the teacher closest to the
ground truth (``'best'``: the bound is then the best teacher's error on that box).

With one teacher every function returns its input unchanged (a list of one is today's single teacher, bit
for bit).
"""
import numbers
from typing import List, Sequence, Tuple

import torch
from torch import Tensor

#: How the bounded regression terms see several teachers' deltas.
REGRESSION_MODES = ('mean', 'best')


def check_weights(weights: Sequence[float], where: str) -> Tuple[float, ...]:
    """The teachers' weights normalised to sum to 1.

    Raises:
        TypeError: If a weight is not a number (``'0.3'``, ``True``: refused as every other setting is).
        ValueError: If a weight is negative or not finite, or all are zero (names ``where``).
    """
    for index, weight in enumerate(weights):
        if isinstance(weight, bool) or not isinstance(weight, numbers.Real):
            raise TypeError(f'{where}[{index}].weight must be a finite number >= 0, got {weight!r} '
                            f'({type(weight).__name__})')
    values = [float(w) for w in weights]
    for index, value in enumerate(values):
        if not value >= 0 or value == float('inf'):
            raise ValueError(f'{where}[{index}].weight must be a finite number >= 0, got {weights[index]!r}')
    total = sum(values)
    if total <= 0:
        raise ValueError(f'{where}: the teachers\' weights sum to 0; give at least one a positive weight')
    return tuple(value / total for value in values)


def _tiny(tensor: Tensor) -> float:
    return torch.finfo(tensor.dtype).tiny


def probability_logits(probs: Tensor, T: float = 1.0) -> Tensor:
    """Logits ``L`` with ``softmax(L / T) = probs`` (``probs`` summing to 1 over the class dimension)."""
    return T * torch.log(probs.clamp_min(_tiny(probs)))


def mean_probability_logits(logits: Sequence[Tensor], weights: Sequence[float], T: float = 1.0,
                            dim: int = 1) -> Tensor:
    """Logits ``L`` with ``softmax(L / T, dim) = sum_k w_k softmax(logits_k / T, dim)``.

    Args:
        logits (list[Tensor]): One tensor per teacher, all of the same shape.
        weights (list[float]): One weight per teacher, summing to 1.
        T (float): The temperature of the term that will read ``L``. Defaults to 1.0.
        dim (int): The class dimension. Defaults to 1.
    """
    if len(logits) == 1:
        return logits[0]
    probs = sum(w * torch.softmax(z.float() / T, dim=dim) for w, z in zip(weights, logits))
    return probability_logits(probs, T).to(logits[0].dtype)


def mean_sigmoid_logits(logits: Sequence[Tensor], weights: Sequence[float], T: float = 1.0) -> Tensor:
    """Logits ``L`` with ``sigmoid(L / T) = sum_k w_k sigmoid(logits_k / T)`` (element-wise)."""
    if len(logits) == 1:
        return logits[0]
    probs = sum(w * torch.sigmoid(z.float() / T) for w, z in zip(weights, logits))
    tiny = _tiny(probs)
    logit = torch.log(probs.clamp_min(tiny)) - torch.log((1 - probs).clamp_min(tiny))
    return (T * logit).to(logits[0].dtype)


def ensemble_rpn_scores(maps: Sequence[Sequence[Tensor]], weights: Sequence[float], T: float,
                        cls_out_channels: int) -> List[Tensor]:
    """Per level, the teachers' RPN objectness maps ``(B, A * c, H, W)`` as one map of mean-probability
    logits (``c = 1``: sigmoid; ``c = 2``: softmax over each anchor's two channels)."""
    if len(maps) == 1:
        return list(maps[0])
    combined = []
    for level_maps in zip(*maps):
        if cls_out_channels == 1:
            combined.append(mean_sigmoid_logits(level_maps, weights, T))
            continue
        batch, channels, height, width = level_maps[0].shape
        grouped = [m.reshape(batch, channels // cls_out_channels, cls_out_channels, height, width)
                   for m in level_maps]
        combined.append(mean_probability_logits(grouped, weights, T, dim=2).reshape(batch, channels, height, width))
    return combined


def mean_deltas(deltas: Sequence[Tensor], weights: Sequence[float]) -> Tensor:
    """The weighted mean of the teachers' box deltas (same shape)."""
    if len(deltas) == 1:
        return deltas[0]
    return sum(w * d for w, d in zip(weights, deltas))


def best_deltas(deltas: Sequence[Tensor], targets: Tensor) -> Tensor:
    """Per row, the deltas of the teacher closest to ``targets`` (squared L2; the first on ties).

    Args:
        deltas (list[Tensor]): ``(N, 4)`` per teacher.
        targets (Tensor): ``(N, 4)`` regression targets.
    """
    if len(deltas) == 1:
        return deltas[0]
    stacked = torch.stack(deltas)  # (K, N, 4)
    errors = (stacked.float() - targets.float()).pow(2).sum(dim=-1)  # (K, N)
    best = errors.argmin(dim=0)
    return stacked[best, torch.arange(stacked.size(1), device=stacked.device)]


def _flatten_level(reg_map: Tensor) -> Tensor:
    """(B, A * 4, H, W) -> (B * H * W * A, 4), the order of MMDetection's anchor targets."""
    return reg_map.permute(0, 2, 3, 1).reshape(-1, 4)


def _unflatten_level(rows: Tensor, like: Tensor) -> Tensor:
    """The inverse of :func:`_flatten_level` for a map shaped like ``like``."""
    batch, channels, height, width = like.shape
    return rows.reshape(batch, height, width, channels).permute(0, 3, 1, 2)


def ensemble_rpn_deltas(maps: Sequence[Sequence[Tensor]], weights: Sequence[float], mode: str,
                        bbox_targets: Sequence[Tensor]) -> List[Tensor]:
    """Per level, the teachers' RPN delta maps ``(B, A * 4, H, W)`` as one (``mode`` in
    :data:`REGRESSION_MODES`; ``bbox_targets``: the student RPN's per-level targets ``(B, H * W * A, 4)``)."""
    if len(maps) == 1:
        return list(maps[0])
    if mode == 'mean':
        return [mean_deltas(level_maps, weights) for level_maps in zip(*maps)]
    combined = []
    for level_maps, targets in zip(zip(*maps), bbox_targets):
        rows = best_deltas([_flatten_level(m) for m in level_maps], targets.reshape(-1, 4))
        combined.append(_unflatten_level(rows, level_maps[0]))
    return combined


def ensemble_rcn_deltas(deltas: Sequence[Tensor], weights: Sequence[float], mode: str, labels: Tensor,
                        bbox_targets: Tensor, num_classes: int, class_agnostic: bool) -> Tensor:
    """The teachers' RoI-head deltas ``(N, 4 * C)`` (or ``(N, 4)``) on the student's RoIs as one: the
    weighted mean, or (``'best'``) per RoI the row of the teacher whose deltas of the RoI's ground-truth
    class are closest to its target (background RoIs keep the first teacher's row: no bound applies)."""
    if len(deltas) == 1:
        return deltas[0]
    if mode == 'mean':
        return mean_deltas(deltas, weights)
    rows = torch.arange(labels.numel(), device=labels.device)
    positive = (labels >= 0) & (labels < num_classes)
    chosen = deltas[0].clone()
    if class_agnostic:
        per_class = [d.view(d.size(0), -1) for d in deltas]
    else:
        per_class = [d.view(d.size(0), num_classes, -1)[rows, labels.clamp(0, num_classes - 1)] for d in deltas]
    stacked = torch.stack(deltas)  # (K, N, 4C)
    errors = torch.stack([(d.float() - bbox_targets.float()).pow(2).sum(dim=-1) for d in per_class])  # (K, N)
    best = errors.argmin(dim=0)
    chosen[positive] = stacked[best, rows][positive]
    return chosen
