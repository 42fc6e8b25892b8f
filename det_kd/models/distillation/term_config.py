"""``KDFasterRCNN.distill`` -> the distillation terms: the paper's five from their own keys, any other from
``distill.terms``, and one copy of every feature term per further teacher network."""
import copy
from typing import Any, Dict, Sequence

from mmdet.registry import MODELS
from torch import nn

from .hint_pairs import check_hint_pairs
from .teachers.base import FeatureSource
from .terms import DistillationTerm, FeatureDistillationTerm
from .terms.feature_term import check_term_name

#: The paper's terms: ``distill`` key -> (term name in ``distill_terms``, term type).
PAPER_TERMS = {
    'loss_hint': ('hint', 'HintTerm'),
    'rpn_cls': ('rpn_cls', 'RPNSoftClassTerm'),
    'rpn_reg': ('rpn_reg', 'RPNBoundedRegressionTerm'),
    'rcn_cls': ('rcn_cls', 'RCNSoftClassTerm'),
    'rcn_reg': ('rcn_reg', 'RCNBoundedRegressionTerm'),
}

#: The paper's defaults: lambda = 1 (the heads' own loss weights), gamma = 0.5, nu = 0.5, w_bg = 1.5,
#: T = 1, mu = 0.5 (not given), m = 0 (not given). Set a term to None to switch it off.
PAPER_DISTILL_DEFAULTS = dict(
    hints=[dict(student=0, teacher=0, adapter='conv1x1', align='pad')],
    loss_hint=dict(type='HintLoss', mode='l2', loss_weight=0.5),
    rpn_cls=dict(type='WeightedSoftCrossEntropyLoss', mu=0.5, bg_weight=1.5, T=1.0),
    rpn_reg=dict(type='TeacherBoundedRegressionLoss', nu=0.5, margin=0.0, mode='bounded'),
    rcn_cls=dict(type='WeightedSoftCrossEntropyLoss', mu=0.5, bg_weight=1.5, T=1.0),
    rcn_reg=dict(type='TeacherBoundedRegressionLoss', nu=0.5, margin=0.0, mode='bounded'),
    terms=[],
    probe_size=128)

#: Settings of ``distill`` that are not terms, with their defaults and allowed values.
DISTILL_SETTINGS = dict(rpn_align=('grid', ('grid', 'resample')), ensemble_reg=('mean', ('mean', 'best')))


def merge_distill_defaults(distill: Any, defaults: dict = PAPER_DISTILL_DEFAULTS) -> dict:
    """``distill`` over ``defaults`` (a dict value is merged into the default dict of its key).

    Raises:
        KeyError: An unknown key (lists the known ones).
        ValueError: A setting outside its allowed values.
    """
    merged = copy.deepcopy(defaults)
    merged.update({key: default for key, (default, _) in DISTILL_SETTINGS.items()})
    for key, value in dict(distill or {}).items():
        if key not in merged:
            raise KeyError(f'KDFasterRCNN.distill: unknown key {key!r} (known: {sorted(merged)})')
        if isinstance(value, dict) and isinstance(merged[key], dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    for key, (_, allowed) in DISTILL_SETTINGS.items():
        if merged[key] not in allowed:
            raise ValueError(f'KDFasterRCNN.distill.{key} must be one of {allowed}, got {merged[key]!r}')
    return merged


def build_term(cfg: Any, where: str, **defaults: Any) -> DistillationTerm:
    """Builds one term; a bad setting's error names ``where`` (``KDFasterRCNN.distill.<key>``)."""
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f'{where} must be a config dict with a `type`, got {cfg!r}')
    try:
        term = MODELS.build(dict(cfg, **defaults))
    except (TypeError, ValueError, KeyError) as error:
        raise type(error)(f'{where}: {error}') from error
    if not isinstance(term, DistillationTerm):
        raise TypeError(f'{where}: {cfg["type"]} is a {type(term).__name__}, not a DistillationTerm')
    return term


def build_terms(distill: dict, sources: Sequence[FeatureSource]) -> nn.ModuleDict:
    """The paper's terms from their keys (those that are not None), then ``distill.terms``; then one more copy
    of every feature term per further feature source (``<name>_teacher<k>``, its own adapters, on the source's
    pairs if it has them). ``distill`` is merged with the defaults (:func:`merge_distill_defaults`)."""
    hint_pairs = check_hint_pairs(distill['hints'], bool(distill['loss_hint']))
    terms = nn.ModuleDict()
    #: name -> (config, where) of every term, to build the other sources' copies of the feature terms.
    configs: Dict[str, tuple] = {}
    for key, (name, term_type) in PAPER_TERMS.items():
        cfg = distill[key]
        if not cfg:
            continue
        if not isinstance(cfg, dict):
            raise TypeError(f'KDFasterRCNN.distill.{key} must be a loss config dict or None, got {cfg!r}')
        term_cfg = dict(type=term_type, loss=cfg, **(dict(pairs=hint_pairs) if term_type == 'HintTerm' else {}))
        terms[name] = build_term(term_cfg, f'KDFasterRCNN.distill.{key}')
        configs[name] = (term_cfg, f'KDFasterRCNN.distill.{key}')
    extra_terms = distill['terms']
    if not isinstance(extra_terms, (list, tuple)):
        raise TypeError(f'KDFasterRCNN.distill.terms must be a list of term configs, got {extra_terms!r}')
    for index, cfg in enumerate(extra_terms):
        where = f'KDFasterRCNN.distill.terms[{index}]'
        term = build_term(cfg, where)
        name = check_term_name(getattr(term, 'name', None) or type(term).__name__, where)
        clash = [key for key in term.loss_keys for other in terms.values() if key in other.loss_keys]
        if name in terms or clash:
            raise ValueError(f'{where}: a term named {name!r} (losses {list(term.loss_keys)}) is already '
                             f'configured; give this one another `name`')
        terms[name] = term
        configs[name] = (dict(cfg), where)
    for source in sources:
        if source.index == 0:
            continue
        for name in [name for name, term in terms.items() if isinstance(term, FeatureDistillationTerm)]:
            cfg, where = configs[name]
            if source.pairs is not None:
                cfg = dict(cfg, pairs=check_hint_pairs(source.pairs, True, where=f'{source.name}.hints'))
            term_copy = build_term(cfg, f'{where} for {source.name}')
            term_copy.teacher_index = source.index
            terms[f'{name}_teacher{source.index}'] = term_copy
    return terms
