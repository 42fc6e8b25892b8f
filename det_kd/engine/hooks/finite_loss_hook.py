"""Stops training at the first non-finite loss, before any checkpoint is written from that state, naming the
terms at fault and, where it can tell, the input that produced the NaN."""
import math
from typing import Any, Dict, List, Optional

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmdet.registry import HOOKS

from det_kd.models.distillation.box_checks import MIN_BOX_SIZE
from det_kd.models.distillation.training_set import check_training_set

#: The settings of a term (or of its loss module) worth naming next to its NaN.
_SETTINGS = ('loss_weight', 'T', 'tau', 'p', 'mu', 'nu', 'margin', 'bg_weight', 'alpha', 'beta', 'gamma')


class NonFiniteLossError(RuntimeError):
    """A training loss became NaN or infinite."""


def non_finite_terms(log_vars: dict) -> dict:
    """The ``loss*`` entries of a train step's log variables that are NaN or infinite, as floats."""
    bad = {}
    for key, value in (log_vars or {}).items():
        if not key.startswith('loss'):
            continue
        number = float(value.detach().float().mean()) if torch.is_tensor(value) else float(value)
        if not math.isfinite(number):
            bad[key] = number
    return bad


def _settings(module: Any) -> str:
    found = []
    for owner in (module, getattr(module, 'loss', None)):
        for name in _SETTINGS:
            value = getattr(owner, name, None) if owner is not None else None
            if isinstance(value, (int, float)) and not isinstance(value, bool) and \
                    f'{name}=' not in ''.join(found):
                found.append(f'{name}={value:g}')
    return ', '.join(found)


def describe_terms(model: Any, bad: Dict[str, float]) -> List[str]:
    """For each non-finite loss entry: the distillation term it belongs to (its class and numeric settings),
    or the student's own loss."""
    distiller = getattr(model, '__dict__', {}).get('distiller') if model is not None else None
    terms = dict(distiller.terms) if distiller is not None else {}
    lines = []
    for key in sorted(bad):
        if key == 'loss':
            continue
        owners = [(name, term) for name, term in terms.items() if key in getattr(term, 'loss_keys', ())]
        if owners:
            name, term = owners[0]
            settings = _settings(term)
            lines.append(f'{key} is the distillation term {name!r} ({type(term).__name__}'
                         f'{f", {settings}" if settings else ""}): check its settings')
        elif distiller is not None:
            lines.append(f'{key} is the student\'s own loss')
    return lines


def suspect_boxes(data_batch: Any, limit: int = 3) -> List[str]:
    """Ground-truth boxes of the batch under one pixel or outside their image (what turns a box loss NaN)."""
    samples = data_batch.get('data_samples') if isinstance(data_batch, dict) else None
    found = []
    for sample in samples or []:
        instances = getattr(sample, 'gt_instances', None)
        boxes = getattr(instances, 'bboxes', None)
        if boxes is None or not len(boxes):
            continue
        boxes = getattr(boxes, 'tensor', boxes).float()
        height, width = sample.metainfo.get('img_shape', (math.inf, math.inf))[:2]
        sizes = boxes[:, 2:] - boxes[:, :2]
        small = ~((sizes[:, 0] >= MIN_BOX_SIZE) & (sizes[:, 1] >= MIN_BOX_SIZE))
        outside = (boxes[:, 2] <= 0) | (boxes[:, 3] <= 0) | (boxes[:, 0] >= width) | (boxes[:, 1] >= height)
        for index in torch.nonzero(small | outside).flatten().tolist()[:limit - len(found)]:
            why = 'outside its image' if bool(outside[index]) else f'under {MIN_BOX_SIZE:g} pixel'
            found.append(f'image {sample.metainfo.get("img_path", "?")!r} has a ground-truth box '
                         f'{[round(v, 1) for v in boxes[index].tolist()]} {why} ({width}x{height} after the '
                         'pipeline): fix or drop it in the annotations')
        if len(found) >= limit:
            break
    return found


def describe_inputs(model: Any, data_batch: Any) -> List[str]:
    """What in the inputs may have produced the NaN: degenerate ground-truth boxes, a teacher results file."""
    lines = suspect_boxes(data_batch)
    distiller = getattr(model, '__dict__', {}).get('distiller') if model is not None else None
    results = getattr(getattr(distiller, 'teacher', None), 'results', None)
    if results is not None:
        lines.append(f'the teacher is the results file {results.path!r}: check its boxes and class_probs for '
                     'these images')
    return lines


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Raises :class:`NonFiniteLossError` naming the terms and the iteration at the first NaN / inf loss.

    It runs right after the train step, before the logger and the checkpoint hook (priority
    ``VERY_HIGH``), so training stops in that iteration and no checkpoint is ever written from a
    non-finite state: the last checkpoint on disk is the last good one (``--resume`` continues from it
    once the cause is fixed). Under distributed training every rank stops when any rank sees a
    non-finite loss. The check costs one float conversion per loss term per iteration. The error says which
    distillation term (with its settings) or student loss is not finite and, where it can tell, the input: a
    ground-truth box under one pixel or outside its image in the batch, a teacher results file.

    Before training it also runs the start-up checks of a distillation model against its training set
    (:func:`~det_kd.models.distillation.training_set.check_training_set`; once, whichever hook runs first), so
    that a config without ``DistillationScheduleHook`` still gets them.
    """

    priority = 'VERY_HIGH'

    @staticmethod
    def _model(runner) -> Optional[Any]:
        model = getattr(runner, 'model', None)
        return model.module if model is not None and is_model_wrapper(model) else model

    def before_train(self, runner) -> None:
        check_training_set(self._model(runner), getattr(getattr(runner, 'train_dataloader', None), 'dataset', None))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        bad = non_finite_terms(outputs if isinstance(outputs, dict) else {})
        flag = torch.tensor([float(bool(bad))])
        all_reduce(flag)
        if not float(flag):
            return
        where = f'iteration {runner.iter + 1} (epoch {runner.epoch + 1})'
        terms = ', '.join(f'{key}={value}' for key, value in sorted(bad.items())) or 'on another rank'
        last = 'none yet'
        last_file = f'{runner.work_dir}/last_checkpoint'
        try:
            with open(last_file) as stream:
                last = stream.read().strip() or last
        except OSError:
            pass
        model = self._model(runner)
        causes = describe_terms(model, bad) + describe_inputs(model, data_batch) if bad else []
        hint = ('; '.join(causes) + '. Otherwise check the learning rate and the teacher checkpoint.' if causes else
                'Check the weights and temperatures of the distillation terms, the learning rate, and the teacher '
                'checkpoint.')
        raise NonFiniteLossError(
            f'FiniteLossHook: non-finite loss at {where}: {terms}. Training stopped before any checkpoint '
            f'was written from this state; the last good checkpoint is {last}. {hint}')
