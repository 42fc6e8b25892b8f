r"""Measurements that tell a user whether distillation does anything on a step, and warnings from them.

A :class:`DistillationProbe` is opened around one training step of a
:class:`~det_kd.models.detectors.KDFasterRCNN` (``DistillationDiagnosticsHook`` does it every N iterations).
While it is open it records the inputs of the model's distillation loss modules (forward hooks: exactly
what the terms compare, in the encoding they use), and at the end of ``loss()`` the model calls
:meth:`DistillationProbe.measure`, which computes on that step's batch:

1. **Gradient per term** (:func:`gradient_norms`): the L2 norm of the gradient of the hard losses (every
   loss entry that is not a distillation term, grouped as ``hard``) and of each distillation term on the
   student's backbone and on its heads (``rpn_head`` + ``roi_head``), with
   ``torch.autograd.grad(..., retain_graph=True)``: nothing is accumulated into ``.grad``, the graph stays
   for the step's own backward. The terms are the losses as returned (weights, ``mu`` and
   ``distill_scale`` applied). Each term's share is ``norm_term / norm_total``, the total being the sum of
   the per-term gradients (= the gradient of the summed loss). Shares of norms do not sum to 1.
2. **Teacher vs student on the student's sampled RoIs** (:func:`classification_agreement`): accuracy and
   mean probability of the ground-truth class on the positive RoIs, of the background on the negative
   ones, for the teacher's RoI-head logits and the student's own (softmax at T = 1). For the RPN
   (:func:`objectness_agreement`, when the soft RPN term is on): the mean foreground probability on the
   positive anchors and the background probability on the negative ones.
3. **Teacher-bounded gate rate** (:func:`gate_rate`): the fraction of positive anchors / RoIs where
   :math:`\|R_s - y\|^2 + m > \|R_t - y\|^2`, i.e. where :math:`L_b` is active (the loss's own
   :func:`~det_kd.models.losses.teacher_bound_gate`).
4. **Hint fit** (:func:`hint_fit`): :math:`1 - \mathrm{MSE}(adapt(V), Z) / \mathrm{Var}(Z)` per hint pair,
   the fraction of the teacher map's variance that the adapted student map explains (1 perfect, 0 as good
   as a constant map, negative worse), over the cells the hint loss compares (its ``mask``, if any).

:func:`diagnostic_warnings` turns a measurement into plain-language warnings, :func:`summarize` and
:func:`format_summary` a list of measurements into a table.

A measurement is a flat ``{name: float}`` dict (names below); a quantity over an empty set (no positive
RoI in the batch, a term that is off) is left out rather than NaN.

- ``grad/<term>/<group>_norm``, ``grad/<term>/<group>_share`` for ``term`` in ``hard``, ``hint``,
  ``rpn_kd_cls``, ``rpn_kd_bbox``, ``rcn_kd_cls``, ``rcn_kd_bbox`` and ``group`` in ``backbone``,
  ``heads``; ``grad/total/<group>_norm`` (``grad/unavailable`` instead where autograd cannot take them,
  e.g. under reentrant activation checkpointing).
- ``rcn/pos_count``, ``rcn/neg_count``, ``rcn/<who>/pos_acc``, ``rcn/<who>/pos_correct_prob``,
  ``rcn/<who>/neg_acc``, ``rcn/<who>/neg_bg_prob`` for ``who`` in ``teacher``, ``student``.
- ``rpn/pos_count``, ``rpn/neg_count``, ``rpn/<who>/pos_fg_prob``, ``rpn/<who>/neg_bg_prob``.
- ``gate/rpn_rate``, ``gate/rpn_count``, ``gate/rcn_rate``, ``gate/rcn_count``.
- ``hint/<index>/fit``.
"""
import inspect
import math
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from torch import Tensor, nn

from ..losses import teacher_bound_gate

#: The paper's distillation entries of ``KDFasterRCNN.loss()`` (the default of :func:`loss_terms`; a model's own
#: are its ``distillation_loss_keys``, which the probe measures and the warnings cover); every other ``loss*``
#: entry counts as ``hard``.
DISTILLATION_TERMS = ('loss_hint', 'loss_rpn_kd_cls', 'loss_rpn_kd_bbox', 'loss_rcn_kd_cls',
                      'loss_rcn_kd_bbox')

#: Default thresholds of :func:`diagnostic_warnings`.
WARNING_THRESHOLDS = dict(min_share=0.01, min_hint_fit=0.1, gate_low=0.02, gate_high=0.98, warmup_iters=1000,
                          min_samples=10)

#: The loss modules of a KDFasterRCNN whose inputs a probe records: record name -> the paper's term.
_RECORDED_MODULES = dict(loss_hint='hint', rpn_kd_cls='rpn_cls', rpn_kd_reg='rpn_reg', rcn_kd_reg='rcn_reg')


def _paper_loss(model: nn.Module, name: str) -> Optional[nn.Module]:
    """The loss module of the paper's term ``name`` (``'hint'``, ``'rpn_cls'``...), None when it is off."""
    terms = model.distill_terms
    return terms[name].loss if name in terms else None

Measurement = Dict[str, float]


def term_name(loss_key: str) -> str:
    """``'loss_rpn_kd_cls'`` -> ``'rpn_kd_cls'`` (the names carry no ``loss``, so log processors that
    smooth every ``*loss*`` scalar leave them alone)."""
    return loss_key[len('loss_'):] if loss_key.startswith('loss_') else loss_key


def _as_scalar(value: Any) -> Tensor:
    """A loss entry (tensor, or per-level list of tensors as MMDetection's RPN returns) as one scalar."""
    if isinstance(value, (list, tuple)):
        return sum(v.sum() for v in value)
    return value.sum()


def loss_terms(losses: Dict[str, Any], distillation_keys: Sequence[str] = DISTILLATION_TERMS) -> Dict[str, Tensor]:
    """Groups a detector's loss dict into ``hard`` (every ``loss*`` entry that is not a distillation term)
    and one scalar per distillation term present.

    Entries without ``'loss'`` in their name (``acc``) are not losses, as in ``BaseModel.parse_losses``.

    Args:
        losses (dict): What ``KDFasterRCNN.loss()`` returns.
        distillation_keys (Sequence[str]): The distillation entries (``KDFasterRCNN.distillation_loss_keys``).
            Defaults to the paper's five.

    Returns:
        dict: ``{'hard': ..., 'hint': ..., 'rpn_kd_cls': ..., ...}``, scalars in the losses' graph.
    """
    terms: Dict[str, Tensor] = {}
    hard = [_as_scalar(v) for k, v in losses.items() if 'loss' in k and k not in distillation_keys]
    if hard:
        terms['hard'] = sum(hard)
    for key in distillation_keys:
        if key in losses:
            terms[term_name(key)] = _as_scalar(losses[key])
    return terms


def _group_norm(grads: Sequence[Optional[Tensor]]) -> float:
    norms = [g.detach().double().norm() for g in grads if g is not None]
    return float(torch.stack(norms).norm()) if norms else 0.0


def gradient_norms(terms: Dict[str, Tensor], groups: Dict[str, List[nn.Parameter]]) -> Measurement:
    """Gradient norm and share of each term on each parameter group, without touching ``.grad``.

    One ``torch.autograd.grad(term, params, retain_graph=True, allow_unused=True)`` per term; the total
    gradient is the sum of the per-term gradients (the gradient of the summed loss, by linearity).

    Args:
        terms (dict): Scalar terms, e.g. from :func:`loss_terms`.
        groups (dict): ``{group: parameters}``, e.g. ``{'backbone': [...], 'heads': [...]}``.

    Returns:
        dict: ``grad/<term>/<group>_norm``, ``grad/<term>/<group>_share`` and ``grad/total/<group>_norm``.
        A share is 0 where the total norm is 0.
    """
    names = list(groups)
    params = [p for name in names for p in groups[name]]
    bounds, start = {}, 0
    for name in names:
        bounds[name] = (start, start + len(groups[name]))
        start += len(groups[name])
    total: List[Optional[Tensor]] = [None] * len(params)
    norms: Dict[str, Dict[str, float]] = {}
    for term, value in terms.items():
        if isinstance(value, Tensor) and value.requires_grad and params:
            grads = torch.autograd.grad(value, params, retain_graph=True, allow_unused=True)
        else:  # a term without a graph (switched off) has no gradient
            grads = (None, ) * len(params)
        for index, grad in enumerate(grads):
            if grad is not None:
                total[index] = grad.detach().clone() if total[index] is None else total[index] + grad
        norms[term] = {name: _group_norm(grads[lo:hi]) for name, (lo, hi) in bounds.items()}
    result: Measurement = {}
    total_norms = {name: _group_norm(total[lo:hi]) for name, (lo, hi) in bounds.items()}
    for term, by_group in norms.items():
        for name, norm in by_group.items():
            result[f'grad/{term}/{name}_norm'] = norm
            result[f'grad/{term}/{name}_share'] = norm / total_norms[name] if total_norms[name] > 0 else 0.0
    for name, norm in total_norms.items():
        result[f'grad/total/{name}_norm'] = norm
    return result


def _mean(values: Tensor) -> float:
    return float(values.float().mean())


def classification_agreement(student_logits: Tensor, teacher_logits: Tensor, labels: Tensor, weights: Tensor,
                             num_classes: int) -> Measurement:
    """Teacher and student classification on the sampled RoIs (softmax over ``C + 1``, background last).

    Args:
        student_logits, teacher_logits (Tensor): ``(N, C + 1)`` logits for the same RoIs.
        labels (Tensor): ``(N,)`` targets, ``C`` for background.
        weights (Tensor): ``(N,)`` label weights; RoIs with weight 0 are left out.
        num_classes (int): ``C``.

    Returns:
        dict: ``rcn/pos_count``, ``rcn/neg_count`` and, where the set is not empty,
        ``rcn/<who>/pos_acc`` (argmax == label), ``rcn/<who>/pos_correct_prob`` (mean p of the label),
        ``rcn/<who>/neg_acc`` (argmax == background), ``rcn/<who>/neg_bg_prob``. Empty if the logits are
        not ``(N, C + 1)``.
    """
    if student_logits.dim() != 2 or student_logits.size(1) != num_classes + 1 or \
            teacher_logits.shape != student_logits.shape:
        return {}
    sampled = weights > 0
    positive = sampled & (labels >= 0) & (labels < num_classes)
    negative = sampled & (labels == num_classes)
    result: Measurement = {'rcn/pos_count': float(positive.sum()), 'rcn/neg_count': float(negative.sum())}
    for who, logits in (('teacher', teacher_logits), ('student', student_logits)):
        probs = F.softmax(logits.detach().float(), dim=1)
        predicted = probs.argmax(dim=1)
        if positive.any():
            pos_labels = labels[positive]
            result[f'rcn/{who}/pos_acc'] = _mean(predicted[positive] == pos_labels)
            result[f'rcn/{who}/pos_correct_prob'] = _mean(probs[positive].gather(1, pos_labels[:, None]))
        if negative.any():
            result[f'rcn/{who}/neg_acc'] = _mean(predicted[negative] == num_classes)
            result[f'rcn/{who}/neg_bg_prob'] = _mean(probs[negative, num_classes])
    return result


def _foreground_prob(logits: Tensor) -> Tensor:
    """Objectness: ``sigmoid`` of ``(N,)`` logits, ``1 - softmax[:, -1]`` of ``(N, 2)`` (background last)."""
    logits = logits.detach().float()
    return torch.sigmoid(logits) if logits.dim() == 1 else 1 - F.softmax(logits, dim=1)[:, -1]


def objectness_agreement(student_logits: Sequence[Tensor],
                         teacher_logits: Sequence[Tensor],
                         labels: Sequence[Tensor],
                         weights: Sequence[Tensor],
                         num_classes: int = 1) -> Measurement:
    """Teacher and student RPN objectness on the student's sampled anchors.

    Args:
        student_logits, teacher_logits (list[Tensor]): Per level, the flattened logits the soft RPN term
            compared: ``(N_l,)`` (sigmoid) or ``(N_l, 2)`` (softmax).
        labels (list[Tensor]): Per level, the anchor targets (any shape with ``N_l`` elements;
            ``< num_classes`` is foreground).
        weights (list[Tensor]): Per level, ``(N_l,)`` weights the term used (0: not sampled or not covered
            by the teacher).
        num_classes (int): The RPN's ``num_classes`` (1). Defaults to 1.

    Returns:
        dict: ``rpn/pos_count``, ``rpn/neg_count``, ``rpn/<who>/pos_fg_prob``, ``rpn/<who>/neg_bg_prob``.
    """
    level_labels = torch.cat([label.reshape(-1) for label in labels])
    sampled = torch.cat([weight.reshape(-1) for weight in weights]) > 0
    positive = sampled & (level_labels >= 0) & (level_labels < num_classes)
    negative = sampled & (level_labels >= num_classes)
    result: Measurement = {'rpn/pos_count': float(positive.sum()), 'rpn/neg_count': float(negative.sum())}
    for who, logits in (('teacher', teacher_logits), ('student', student_logits)):
        foreground = torch.cat([_foreground_prob(level) for level in logits])
        if positive.any():
            result[f'rpn/{who}/pos_fg_prob'] = _mean(foreground[positive])
        if negative.any():
            result[f'rpn/{who}/neg_bg_prob'] = _mean(1 - foreground[negative])
    return result


def gate_rate(calls: Iterable[Dict[str, Any]], margin: float) -> Tuple[float, int]:
    """Fraction of positive samples where the teacher-bounded term is active.

    Args:
        calls (Iterable[dict]): The arguments of ``TeacherBoundedRegressionLoss`` calls (one per RPN level,
            one for the RCN): ``student_deltas``, ``teacher_deltas``, ``targets``, ``weight``.
        margin (float): The loss's margin :math:`m`.

    Returns:
        tuple: ``(rate, count)``; ``rate`` is NaN when ``count`` (samples with weight > 0) is 0.
    """
    active, count = 0, 0
    for call in calls:
        used = call['weight'].reshape(-1) > 0
        gate = teacher_bound_gate(call['student_deltas'], call['teacher_deltas'], call['targets'], margin)
        active += int(gate[used].sum())
        count += int(used.sum())
    return (active / count if count else math.nan), count


def hint_fit(adapted_student: Tensor, teacher: Tensor, mask: Optional[Tensor] = None) -> float:
    r""":math:`1 - \mathrm{MSE}(adapted, teacher) / \mathrm{Var}(teacher)`, both over all elements (or the
    elements of ``mask``, as the hint loss takes them), the variance the population one. 1: the adapted
    student reproduces the map; 0: no better than the map's mean; negative: worse.

    Args:
        adapted_student (Tensor): The adapted, aligned student map the hint loss compared.
        teacher (Tensor): The teacher map, same shape.
        mask (Tensor, optional): Booleans broadcastable to the maps: the elements the loss used.
            Defaults to None (all).

    Returns:
        float: The fit; NaN where it is undefined (an empty mask, a constant teacher map missed).
    """
    adapted_student, teacher = adapted_student.detach().double(), teacher.detach().double()
    if mask is not None:
        keep = mask.bool().expand_as(teacher)
        adapted_student, teacher = adapted_student[keep], teacher[keep]
        if teacher.numel() == 0:
            return math.nan
    mse = float((adapted_student - teacher).pow(2).mean())
    variance = float(teacher.var(unbiased=False))
    if variance == 0.0:
        return 1.0 if mse == 0.0 else math.nan
    return 1.0 - mse / variance


class DistillationProbe:
    """Measures the diagnostics of the steps run while it is open (a context manager).

    On entry it records, through forward hooks, the inputs of the model's distillation loss modules and sets
    ``model.diagnostics_probe`` to itself, which makes ``KDFasterRCNN.loss()`` call :meth:`measure` before
    returning; on exit the hooks are removed. Nothing it does changes the losses, the gradients or the
    random stream of the step.

    Args:
        model (nn.Module): The (unwrapped) ``KDFasterRCNN``.

    Example:
        >>> with DistillationProbe(model) as probe:
        ...     losses = model.loss(inputs, data_samples)
        >>> probe.result['grad/hint/backbone_share']
    """

    def __init__(self, model: nn.Module) -> None:
        if not hasattr(model, 'diagnostics_probe'):
            raise TypeError(f'DistillationProbe needs a distillation detector (KDFasterRCNN), got '
                            f'{type(model).__name__}')
        self.model = model
        #: The last measurement (None until a step ran with distillation on).
        self.result: Optional[Measurement] = None
        self.calls: Dict[str, List[Dict[str, Any]]] = {}
        self._handles: List[Any] = []

    def __enter__(self) -> 'DistillationProbe':
        if self.model.diagnostics_probe is not None:
            raise RuntimeError('a DistillationProbe is already open on this model')
        self.calls = {name: [] for name in _RECORDED_MODULES}
        for name, term in _RECORDED_MODULES.items():
            module = _paper_loss(self.model, term)
            if module is not None:
                self._handles.append(module.register_forward_hook(self._recorder(name), with_kwargs=True))
        self.model.diagnostics_probe = self
        return self

    def __exit__(self, *exc_info: Any) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self.calls = {}
        self.model.diagnostics_probe = None

    def _recorder(self, name: str):
        # The class's forward: an instance-level wrapper (a MethodCallRecorder) would hide the names.
        signature = inspect.signature(type(_paper_loss(self.model, _RECORDED_MODULES[name])).forward)

        def hook(module: nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
            self.calls[name].append(signature.bind(module, *args, **kwargs).arguments)

        return hook

    def parameter_groups(self) -> Dict[str, List[nn.Parameter]]:
        """The student's trainable ``backbone`` and ``heads`` (``rpn_head`` + ``roi_head``) parameters."""
        model = self.model
        heads = [getattr(model, name, None) for name in ('rpn_head', 'roi_head')]
        return {
            'backbone': [p for p in model.backbone.parameters() if p.requires_grad],
            'heads': [p for head in heads if head is not None for p in head.parameters() if p.requires_grad]
        }

    def measure(self, losses: Dict[str, Any], inputs: Any) -> Measurement:
        """Computes the measurement of the step whose losses are ``losses``; called by the distiller.

        Args:
            losses (dict): The losses ``loss()`` is about to return (still in the graph).
            inputs (DistillationInputs): What the terms got (``inputs.rpn`` / ``inputs.rcn`` when a term uses the
                RPN / the RoI head).

        Returns:
            dict: The measurement (also kept as :attr:`result`).
        """
        model = self.model
        result: Measurement = {}
        try:
            result.update(gradient_norms(loss_terms(losses, model.distillation_loss_keys), self.parameter_groups()))
        except RuntimeError as error:  # e.g. reentrant activation checkpointing does not support .grad()
            result['grad/unavailable'] = 1.0
            print_log(f'distillation diagnostics: no gradient shares ({error})', logger='current')
        rcn = inputs.rcn
        if rcn is not None:
            labels, label_weights = rcn.targets[:2]
            if rcn.teacher_covered is not None:  # the teacher's class scores exist on these RoIs only
                label_weights = label_weights * rcn.teacher_covered
            result.update(classification_agreement(rcn.student_cls, rcn.teacher_cls, labels, label_weights,
                                                   rcn.num_classes))
        rpn_cls_calls = self.calls.get('rpn_kd_cls', [])
        if inputs.rpn is not None and rpn_cls_calls:
            result.update(
                objectness_agreement([c['student_logits'] for c in rpn_cls_calls],
                                     [c['teacher_logits'] for c in rpn_cls_calls], inputs.rpn.targets[0],
                                     [c['weight'] for c in rpn_cls_calls], model.rpn_head.num_classes))
        for head in ('rpn', 'rcn'):
            reg_loss = _paper_loss(model, f'{head}_reg')
            if reg_loss is not None and getattr(reg_loss, 'mode', 'bounded') == 'bounded':
                rate, count = gate_rate(self.calls.get(f'{head}_kd_reg', []), reg_loss.margin)
                result[f'gate/{head}_count'] = float(count)
                if count:
                    result[f'gate/{head}_rate'] = rate
        for index, call in enumerate(self.calls.get('loss_hint', [])):
            fit = hint_fit(call['student_feat'], call['teacher_feat'], call.get('mask'))
            if math.isfinite(fit):
                result[f'hint/{index}/fit'] = fit
        for calls in self.calls.values():  # the next loss() call of this probe records afresh
            calls.clear()
        self.result = result
        return result


def distillation_shares(quantities: Dict[str, float]) -> Dict[str, float]:
    """``{term: share}``: each distillation term's share of the student backbone's gradient
    (``grad/<term>/backbone_share``) in a measurement or in a run's mean quantities; the detection losses
    (``hard``) and the total are not distillation terms and are left out."""
    return {key.split('/')[1]: value for key, value in quantities.items()
            if key.startswith('grad/') and key.endswith('/backbone_share') and key.count('/') == 2
            and key.split('/')[1] not in ('hard', 'total')}


def diagnostic_warnings(measurement: Measurement,
                        iteration: int,
                        min_share: float = 0.01,
                        min_hint_fit: float = 0.1,
                        gate_low: float = 0.02,
                        gate_high: float = 0.98,
                        warmup_iters: int = 1000,
                        min_samples: int = 10) -> Dict[str, str]:
    """Plain-language warnings a measurement calls for, by a stable key.

    The hint fit and a gate rate near 1 are judged only from ``warmup_iters`` on (a fresh student explains
    nothing and is worse than the teacher everywhere); the rest from the first measurement.

    Args:
        measurement (dict): A measurement (see the module docstring).
        iteration (int): Training iterations done before the measured step (the runner's 0-based
            ``iter``).
        min_share (float): A distillation term below this share of the backbone gradient has "almost no
            effect". Defaults to 0.01.
        min_hint_fit (float): Hint fit below which the hint "explains almost nothing". Defaults to 0.1.
        gate_low, gate_high (float): Gate rates at or below / at or above these are "near 0" / "near 1".
            Defaults to 0.02 and 0.98.
        warmup_iters (int): Iterations before the learning-dependent warnings. Defaults to 1000.
        min_samples (int): The teacher-vs-student and gate warnings need at least this many positive
            samples in the batch (fewer say little). Defaults to 10.

    Returns:
        dict: ``{key: message}``, e.g. ``{'teacher/rcn': 'the teacher is no better ...'}``.
    """
    warnings: Dict[str, str] = {}
    learned = iteration >= warmup_iters
    teacher_p = measurement.get('rcn/teacher/pos_correct_prob')
    student_p = measurement.get('rcn/student/pos_correct_prob')
    enough = {head: measurement.get(f'{head}/pos_count', 0) >= min_samples for head in ('rpn', 'rcn')}
    if teacher_p is not None and student_p is not None and enough['rcn'] and teacher_p <= student_p:
        warnings['teacher/rcn'] = (
            f'the teacher is no better than the student on positive RoIs (teacher correct-class p '
            f'{teacher_p:.2f} vs student {student_p:.2f}): soft targets will pull towards background or the '
            'wrong class; check the teacher checkpoint and its input normalisation / scale')
    teacher_fg = measurement.get('rpn/teacher/pos_fg_prob')
    student_fg = measurement.get('rpn/student/pos_fg_prob')
    if teacher_fg is not None and student_fg is not None and enough['rpn'] and teacher_fg <= student_fg:
        warnings['teacher/rpn'] = (
            f'the teacher RPN is no better than the student on positive anchors (teacher foreground p '
            f'{teacher_fg:.2f} vs student {student_fg:.2f}): the soft objectness targets do not help; check '
            'the teacher checkpoint and that both RPNs use the same anchors')
    for key, fit in measurement.items():
        if not (key.startswith('hint/') and key.endswith('/fit')):
            continue
        index = key.split('/')[1]
        if learned and fit < min_hint_fit:
            warnings[f'hint/{index}'] = (
                f'hint fit of pair {index} is {fit:.2f} (below {min_hint_fit:g}) after {iteration} '
                'iterations: the hint explains almost none of the teacher map (raise its weight or check '
                'the alignment)')
    terms = distillation_shares(measurement)
    dominant = max(terms, key=terms.get) if terms else None
    for term, share in terms.items():  # every term measured (the model's distillation_loss_keys)
        if share >= min_share:
            continue
        heads = measurement.get(f'grad/{term}/heads_share', 0.0)
        message = (f'distillation term loss_{term} carries {100 * share:.2f}% (less than {100 * min_share:g}%) of '
                   f'the gradient on the backbone ({100 * heads:.1f}% on the heads): it has almost no effect on the '
                   'features (raise its weight or check that it is on')
        if dominant not in (None, term) and terms[dominant] >= 0.9:
            message += (f'; loss_{dominant} carries {100 * terms[dominant]:.1f}% of it: that term may be too large (a '
                        'weight, or a temperature far from 1) rather than this one too small')
        warnings[f'share/{term}'] = message + ')'

    for head, samples in (('rpn', 'anchors'), ('rcn', 'RoIs')):
        rate = measurement.get(f'gate/{head}_rate')
        if rate is None or measurement.get(f'gate/{head}_count', 0) < min_samples:
            continue
        if rate <= gate_low:
            warnings[f'gate/{head}_low'] = (
                f'the teacher-bounded {head.upper()} regression term is active on only {100 * rate:.1f}% of '
                f'the positive {samples}: the student already beats the teacher there, so the term has no '
                'effect (a weak teacher, or teacher and student box coders that differ)')
        elif learned and rate >= gate_high:
            warnings[f'gate/{head}_high'] = (
                f'the teacher-bounded {head.upper()} regression term is active on {100 * rate:.1f}% of the '
                f'positive {samples} after {iteration} iterations: the student never gets within the '
                "teacher's error, the bound acts as a plain L2 to the ground truth (is the margin too "
                'large?)')
    return warnings


def summarize(measurements: Sequence[Measurement]) -> Dict[str, Dict[str, float]]:
    """Last value and mean over the measurements that have it, per quantity.

    Args:
        measurements (Sequence[dict]): Measurements in order.

    Returns:
        dict: ``{name: {'last': ..., 'mean': ..., 'count': ...}}`` in first-seen order.
    """
    values: Dict[str, List[float]] = {}
    for measurement in measurements:
        for key, value in measurement.items():
            if isinstance(value, (int, float)) and math.isfinite(value):
                values.setdefault(key, []).append(float(value))
    return {key: {'last': v[-1], 'mean': sum(v) / len(v), 'count': float(len(v))}
            for key, v in values.items()}


def format_summary(summary: Dict[str, Dict[str, float]], skip: Iterable[str] = ('iter', )) -> str:
    """A text table of :func:`summarize`'s output: one row per quantity, columns ``last`` and ``mean``."""
    rows = [(key, stats) for key, stats in summary.items() if key not in set(skip)]
    if not rows:
        return '(no measurement)'
    width = max(len(key) for key, _ in rows)
    lines = [f'{"quantity":<{width}}  {"last":>10}  {"mean":>10}  {"n":>4}']
    lines += [f'{key:<{width}}  {s["last"]:>10.4g}  {s["mean"]:>10.4g}  {int(s["count"]):>4d}'
              for key, s in rows]
    return '\n'.join(lines)


def format_measurement(measurement: Measurement) -> str:
    """A one-line digest of a measurement: backbone gradient shares, teacher vs student, gates, hint fits."""
    parts = []
    shares = [(key.split('/')[1], value) for key, value in measurement.items()
              if key.startswith('grad/') and key.endswith('/backbone_share')]
    if shares:
        parts.append('backbone grad share ' + ' '.join(f'{term} {value:.3f}' for term, value in shares))
    for head, key, label in (('rcn', 'pos_correct_prob', 'RoI correct-class p'),
                             ('rpn', 'pos_fg_prob', 'anchor fg p')):
        teacher, student = measurement.get(f'{head}/teacher/{key}'), measurement.get(f'{head}/student/{key}')
        if teacher is not None and student is not None:
            parts.append(f'{label} teacher {teacher:.3f} student {student:.3f}')
    gates = [(head, measurement[f'gate/{head}_rate']) for head in ('rpn', 'rcn')
             if f'gate/{head}_rate' in measurement]
    if gates:
        parts.append('gate rate ' + ' '.join(f'{head} {rate:.3f}' for head, rate in gates))
    fits = [(key.split('/')[1], value) for key, value in measurement.items() if key.startswith('hint/')]
    if fits:
        parts.append('hint fit ' + ' '.join(f'{index}: {value:.3f}' for index, value in fits))
    return '; '.join(parts)
