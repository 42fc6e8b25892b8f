"""The demo's method screen (``tools/demo.py --methods``): several distillation methods of the same teacher /
student pair, each trained on the same seeds against the same baselines, ranked by their paired gain.

A method is a named column of :mod:`.ablation_columns` (``paper`` = the paper's three terms, ``pkd``,
``pkd-batch``, ``cwd``, ``at``, ``paper+pkd`` ..., ``fitnets``) applied to the demo's distillation config, or a
distillation config file of the same pair (checked as the ablation checks its method columns).
"""
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Union

from mmengine.config import Config

from .ablation_columns import ABLATION_COLUMNS, check_column, column_config, column_label, is_baseline
from .gain import (format_gap_closed, format_interval, format_per_seed, interval_verdict, paired_gains,
                   paired_seed_interval)

#: Short names of :data:`ABLATION_COLUMNS` for the command line (any column name, in any case, works too).
METHOD_ALIASES = {'paper': 'all three', 'fitnets': 'FitNets-2-stage',
                  **{f'paper+{name.lower()}': f'all three + {name}' for name in ('AT', 'CWD', 'PKD')}}
#: The role and run folder of the single distillation config of a demo without ``--methods``.
SINGLE_ROLE = 'distilled'


@dataclass(frozen=True)
class DemoMethod:
    """One distilled student of the demo: ``role`` (its run folder per seed and its key in the results),
    ``label`` (its name in the tables; empty for the single ``--kd`` config) and ``config`` (a distillation
    config file or a :class:`~mmengine.config.Config` built from the demo's one)."""
    role: str
    label: str
    config: Union[str, Config]

    @property
    def title(self) -> str:
        return f'distilled student ({self.label})' if self.label else 'distilled student'


def method_column(name: str) -> str:
    """The ablation column (or config file) a ``--methods`` name stands for: an alias of
    :data:`METHOD_ALIASES`, a column name in any case, or a config file.

    Raises:
        ValueError: An unknown name, a missing file, or the baseline, naming the choices.
    """
    by_case = {column.lower(): column for column in ABLATION_COLUMNS}
    column = METHOD_ALIASES.get(name.lower()) or by_case.get(name.lower()) or name
    try:
        column = check_column(column)
    except ValueError as error:
        raise ValueError(f'--methods {name}: {error}; short names: {sorted(METHOD_ALIASES)}') from None
    if is_baseline(column):
        raise ValueError(f'--methods {name}: the baseline student is trained anyway; name distillation methods')
    return column


def role_of(label: str) -> str:
    """The run folder of a method: ``distilled-`` and its label in lower case, other characters as ``-``."""
    return 'distilled-' + re.sub(r'[^a-z0-9]+', '-', label.lower()).strip('-')


def demo_methods(kd_config: str, names: Optional[Sequence[str]], epochs: int) -> List[DemoMethod]:
    """The demo's distilled students: the single ``kd_config`` (no ``names``), or one per ``--methods`` name
    built from ``kd_config`` (:func:`~.ablation_columns.column_config`, for ``epochs`` of training).

    Raises:
        ValueError: A name twice, an unknown name, a config file of another pair or data.
    """
    if not names:
        return [DemoMethod(SINGLE_ROLE, '', kd_config)]
    columns = [method_column(name) for name in names]
    labels = [name if name.lower() in METHOD_ALIASES else column_label(column) for name, column in zip(names, columns)]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    roles = [role_of(label) for label in labels]
    if repeated or len(set(roles)) < len(roles):
        raise ValueError(f'--methods names a method twice: {repeated or roles}')
    methods = []
    for role, label, column in zip(roles, labels, columns):
        try:
            methods.append(DemoMethod(role, label, column_config(kd_config, column, epochs)))
        except ValueError as error:  # e.g. the pair's config for tools/train.py on one dataset (configs/bccd/)
            raise ValueError(f'{error}. The demo sets the data and classes itself, so a method config of the demo '
                             f'is built on its --kd config ({kd_config}), as configs/demo/'
                             'fgd_alexnet-w0.25-vgg16-w0.25_demo.py is') from None
    return methods


def ranking(gains: Dict[str, dict], metric: str) -> List[str]:
    """The method labels ordered by their mean paired gain on ``metric`` (``gains``: label ->
    :func:`~.gain.gain_summary` record), best first."""
    return sorted(gains, key=lambda label: -gains[label]['metrics'][metric]['mean'])


def ranking_markdown(gains: Dict[str, dict], distilled: Dict[str, Dict[int, float]], metric: str) -> str:
    """A markdown table of the methods, best first (mean gain with its interval over seeds, per-seed gains,
    gap to the teacher closed), and whether the first is resolved against each other method: the paired
    difference of the two distilled students over the seeds, with its 95 % interval."""
    order = ranking(gains, metric)
    title = gains[order[0]]['metrics'][metric]['title']
    lines = [f'Ranked by the paired gain on {title} (distilled minus baseline, same seeds).', '',
             '| rank | method | distilled | gain, mean [95 % CI over seeds] | per seed | gap to the teacher closed |',
             '|---|---|---|---|---|---|']
    for rank, label in enumerate(order, 1):
        record = gains[label]['metrics'][metric]
        closed = format_gap_closed(record['gap_closed'])
        lines.append(f"| {rank} | {label} | {record['distilled']:.1f} | "
                     f"{format_interval(record['mean'], record['low'], record['high'])} | "
                     f"{format_per_seed(record['gains'])} | {closed} |")
    best = order[0]
    lines.append('')
    for other in order[1:]:
        difference = paired_gains(distilled[other], distilled[best])
        interval = paired_seed_interval(list(difference.values()))
        verdict = interval_verdict(interval['low'], interval['high'], f'the lead of {best} over {other}')
        lines.append(f"- {best} minus {other}: {format_interval(interval['mean'], interval['low'], interval['high'])}"
                     f" over {interval['n']} seed(s); {verdict}.")
    return '\n'.join(lines)
