"""The columns of the paper's ablation (Table 4) and of the feature-distillation family (AT, CWD, PKD, alone
and added to the paper's terms; FitNets' two stages) as overrides of a distillation config's ``model.distill``
(and, for FitNets, of its hooks); and method columns: another distillation config of the same pair and data
(e.g. ``configs/kd/fgd_*.py``), trained as it is (its terms, weights and hooks)."""
import copy
import os.path as osp
from typing import Dict, Optional

from mmengine.config import Config

_NO_CLS = dict(rpn_cls=None, rcn_cls=None)
_NO_REG = dict(rpn_reg=None, rcn_reg=None)
_NO_HINT = dict(loss_hint=None)


def _hint(adapter: str) -> dict:
    return dict(hints=[dict(student=0, teacher=0, adapter=adapter, align='pad')])


#: Table 4 of Chen et al. (2017): column -> overrides merged into ``model.distill`` (None: the plain student).
#: "Hints" (no adaptation layer) needs equal channel counts in the pair.
TABLE4_COLUMNS: Dict[str, Optional[dict]] = {
    'Baseline': None,
    'L2': dict(**_NO_CLS, **_NO_HINT, rpn_reg=dict(mode='l2'), rcn_reg=dict(mode='l2')),
    'L2-B': dict(**_NO_CLS, **_NO_HINT),
    'CLS': dict(**_NO_REG, **_NO_HINT, rpn_cls=dict(bg_weight=1.0), rcn_cls=dict(bg_weight=1.0)),
    'CLS-W': dict(**_NO_REG, **_NO_HINT),
    'Hints': dict(**_NO_CLS, **_NO_REG, **_hint('none')),
    'Hints-A': dict(**_NO_CLS, **_NO_REG, **_hint('conv1x1')),
    'L2-B+CLS-W': dict(**_NO_HINT),
    'all three': {},
}

#: The feature-distillation family on the config's hint pairs (their layers and alignment; each term's own
#: default adapter): alone (the paper's terms off) and added to the paper's terms ("all three + X").
#: PKD standardises per image here, as when its columns were measured; 'PKD-batch' is MMRazor's batch-wide form.
_FAMILY = dict(AT=dict(type='AttentionTransferTerm'), CWD=dict(type='ChannelWiseDistillationTerm'),
               PKD=dict(type='PearsonDistillationTerm', normalize='image'))
FEATURE_COLUMNS: Dict[str, dict] = {
    **{name: dict(**_NO_CLS, **_NO_REG, **_NO_HINT, terms=[term]) for name, term in _FAMILY.items()},
    'PKD-batch': dict(**_NO_CLS, **_NO_REG, **_NO_HINT,
                      terms=[dict(type='PearsonDistillationTerm', normalize='batch')]),
    **{f'all three + {name}': dict(terms=[term]) for name, term in _FAMILY.items()},
    # the config's terms after a first stage on the hint alone (FitNetsStagesHook)
    'FitNets-2-stage': dict(stages='fitnets'),
}
#: FitNets' stage 1 (the config's feature terms alone, on the student's layers up to the guided ones) takes
#: this fraction of the epochs (2 of 12 as in configs/kd/fitnets_*; 4 of the demo's 24), stage 2 the rest.
FITNETS_HINT_FRACTION = 1 / 6

#: Every column ``tools/ablation.py`` can run, in table order.
ABLATION_COLUMNS: Dict[str, Optional[dict]] = {**TABLE4_COLUMNS, **FEATURE_COLUMNS}

#: The paper's Table 4 (VGG16 -> Tucker): PASCAL / KITTI mAP for each column.
PAPER_TABLE4 = {
    'Baseline': (54.7, 49.3), 'L2': (54.6, 48.5), 'L2-B': (55.9, 50.1), 'CLS': (57.4, 50.8),
    'CLS-W': (57.7, 51.3), 'Hints': (56.9, 50.3), 'Hints-A': (58.0, 52.1), 'L2-B+CLS-W': (58.4, 51.7),
    'all three': (59.4, 53.7)
}


def _term_pairs(distill: dict) -> list:
    """The config's hint pairs (the paper's default pair if it sets none) without their adapter."""
    hints = distill.get('hints') or [dict(student=0, teacher=0)]
    return [{key: value for key, value in pair.items() if key != 'adapter'} for pair in hints]


#: What a method column's config must share with the ablation's distillation config for its runs to pair with
#: the same baselines and teacher checkpoint: the student (the distillation model less its teacher and terms),
#: the teacher's config (the ablation sets the checkpoint) and the data.
SHARED_KEYS = ('model.data_preprocessor', 'model.backbone', 'model.neck', 'model.rpn_head', 'model.roi_head',
               'model.train_cfg', 'model.test_cfg', 'model.teacher.config', 'train_dataloader.dataset',
               'val_dataloader.dataset')


def is_method_column(column: str) -> bool:
    """Whether ``column`` names a distillation config file (a method column) rather than a named column."""
    return column.endswith('.py')


def is_baseline(column: str) -> bool:
    """Whether ``column`` trains the plain student."""
    return not is_method_column(column) and ABLATION_COLUMNS[column] is None


def column_label(column: str) -> str:
    """The name a column's runs and table row carry: a method column's config file name without ``.py``."""
    return osp.splitext(osp.basename(column))[0] if is_method_column(column) else column


def check_column(column: str) -> str:
    """``column`` if it is a named column or an existing config file (``tools/ablation.py --columns``).

    Raises:
        ValueError: Neither, naming the choices.
    """
    if column in ABLATION_COLUMNS or (is_method_column(column) and osp.isfile(column)):
        return column
    what = 'no such config file' if is_method_column(column) else 'not a column'
    raise ValueError(f'{column!r}: {what}; a column is one of {list(ABLATION_COLUMNS)} or a distillation config '
                     'file of the same teacher / student pair (e.g. configs/kd/fgd_*.py)')


def _key(cfg: Config, dotted: str):
    value = cfg
    for part in dotted.split('.'):
        value = value.get(part) if hasattr(value, 'get') else None
    return value.to_dict() if hasattr(value, 'to_dict') else value


def method_config(kd_config: str, column: str) -> Config:
    """The method column ``column`` (a distillation config file), checked to share :data:`SHARED_KEYS` with
    ``kd_config`` so that its runs pair with the ablation's baselines and teacher checkpoint.

    Raises:
        ValueError: A shared key differs, naming it and both files.
    """
    reference, cfg = Config.fromfile(kd_config), Config.fromfile(column)
    for key in SHARED_KEYS:
        if _key(cfg, key) != _key(reference, key):
            raise ValueError(f'{column}: `{key}` differs from {kd_config}\'s; a method column must distil the '
                             'same pair on the same data (its runs pair with the same baselines and teacher)')
    return cfg


def column_config(kd_config: str, column: str, epochs: Optional[int] = None) -> Config:
    """The distillation config with ``ABLATION_COLUMNS[column]`` merged into ``model.distill`` (a method
    column: its own config, :func:`method_config`).

    A dict override is merged into the config's own dict for that key (e.g. ``rpn_reg=dict(mode='l2')`` keeps
    the config's ``nu``); None switches the term off; a term of ``terms`` without ``pairs`` gets the config's
    hint pairs and is added to the config's own ``terms``; ``stages='fitnets'`` puts a ``FitNetsStagesHook``
    first in ``custom_hooks``, its stage 1 ``FITNETS_HINT_FRACTION`` of ``epochs`` (default: the config's
    ``train_cfg.max_epochs``; pass the epochs the run will train).

    Raises:
        ValueError: For the 'Baseline' column, which is the plain student config, not an override.
    """
    if is_method_column(column):
        return method_config(kd_config, column)
    overrides = ABLATION_COLUMNS[column]
    if overrides is None:
        raise ValueError("the 'Baseline' column trains the plain student config")
    cfg = Config.fromfile(kd_config)
    distill = dict(cfg.model.get('distill') or {})
    overrides = copy.deepcopy(overrides)
    if overrides.pop('stages', None) == 'fitnets':
        hint_epochs = max(1, round((epochs or cfg.train_cfg.max_epochs) * FITNETS_HINT_FRACTION))
        others = [hook for hook in cfg.get('custom_hooks', []) if hook['type'] != 'FitNetsStagesHook']
        cfg.custom_hooks = [dict(type='FitNetsStagesHook', hint_epochs=hint_epochs), *others]
    if 'terms' in overrides:
        added = [dict(term, pairs=term.get('pairs', _term_pairs(distill))) for term in overrides.pop('terms')]
        distill['terms'] = list(distill.get('terms') or []) + added
    for key, value in overrides.items():
        current = distill.get(key)
        distill[key] = {**current, **value} if isinstance(value, dict) and isinstance(current, dict) else value
    cfg.model.distill = distill
    return cfg
