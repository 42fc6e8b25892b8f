"""The demo's report sections (``results.md`` of :mod:`.demo`): the methods' gains or their ranking, what a
teacher below the baseline means, what the seeds and images can resolve, how the distilled runs get their
teacher, the anchor decision for ``results.json``, the distillation diagnostics and what they say about a method
that lost."""
import json
import os.path as osp
from typing import Dict, List, Optional, Tuple

from ..models.distillation.diagnostics import distillation_shares
from .anchor_fit import AnchorChoice
from .gain import BOOTSTRAP_METRIC, gain_markdown, per_seed_percent_values, resolvable_gain
from .method_screen import DemoMethod, ranking_markdown
from .results import mean_std
from .run_diagnostics import DIAGNOSTICS_FILE, mean_quantities


def _diagnostics_files(work_dir: str, seeds, role: str, since: float) -> List[Tuple[int, str]]:
    """``(seed, path)`` of the ``distillation_diagnostics.json`` of ``role``'s runs written after ``since`` (a time
    stamp: a file left by an earlier demo in the same work directory is not this run's)."""
    paths = [(seed, osp.join(work_dir, f'seed{seed}', role, DIAGNOSTICS_FILE)) for seed in seeds]
    return [(seed, path) for seed, path in paths if osp.isfile(path) and osp.getmtime(path) >= since]


#: A distillation term above this share of the backbone's gradient (mean over a run) drowns the detection losses.
DOMINANT_SHARE = 0.5
#: Distillation terms below this share of the backbone's gradient together (mean over a run) barely distil.
WEAK_SHARE = 0.05
#: A hint whose fit (1 - MSE / Var of the teacher map, mean over a run) stays below this has not learned that map.
POOR_HINT_FIT = 0.1


def lost_method_advice(work_dir: str, seeds, methods: List[DemoMethod], gains: Dict[str, dict],
                       since: float) -> str:
    """Markdown: for every method whose mean VOC07 gain is below 0, what its runs' diagnostics (means over seeds
    of ``DistillationDiagnosticsHook``'s summaries) point at: a teacher less right than the student on the
    student's positive RoIs or anchors (its head terms teach a worse answer than the labels), a term that takes
    most of the backbone's gradient, terms that together take almost none of it, a hint that does not fit; and
    what to change. Empty when none lost."""
    parts = []
    for method in methods:
        record = gains[method.role]['metrics'].get(BOOTSTRAP_METRIC)
        if record is None or record['mean'] >= 0:
            continue
        name = method.label or 'the distilled student'
        quantities = mean_quantities(path for _, path in _diagnostics_files(work_dir, seeds, method.role, since))
        if not quantities:
            parts.append(f'- **{name}** ({record["mean"]:+.1f}): no diagnostics were recorded (the configs\' '
                         '`DistillationDiagnosticsHook`); add it to see why')
            continue
        mean = quantities.get
        causes = []
        for head, key, what, terms in (('rcn', 'pos_acc', 'classifies {t:.0%} of the student\'s positive RoIs '
                                        'right (the student {s:.0%})', 'rcn_cls=None, rcn_reg=None'),
                                       ('rpn', 'pos_fg_prob', 'gives the student\'s positive anchors a foreground '
                                        'probability of {t:.2f} (the student {s:.2f})', 'rpn_cls=None, rpn_reg=None')):
            teacher, student = mean(f'{head}/teacher/{key}'), mean(f'{head}/student/{key}')
            if teacher is not None and student is not None and teacher < student:
                causes.append(f'the teacher {what.format(t=teacher, s=student)}: its {head.upper()} terms teach a '
                              f'worse answer than the labels; a stronger teacher, or those terms off (`{terms}` in '
                              '`model.distill`)')
        hard = mean('grad/hard/backbone_share')
        distilling = distillation_shares(quantities)
        for term, share in distilling.items():
            if share > DOMINANT_SHARE:
                causes.append(f'loss_{term} takes {share:.0%} of the backbone\'s gradient (the detection losses '
                              f'{hard or 0:.0%}): lower its `loss_weight` (2-4x)')
        if distilling and sum(distilling.values()) < WEAK_SHARE:
            causes.append(f'its terms ({", ".join("loss_" + term for term in distilling)}) carry '
                          f'{100 * sum(distilling.values()):.2g}% of the backbone\'s gradient together (the detection '
                          f'losses {hard or 0:.0%}): at these weights it barely distils this pair; raise their '
                          'weights (e.g. 10x) and screen it again on other seeds')
        for key, fit in quantities.items():
            if key.startswith('hint/') and key.endswith('/fit') and fit < POOR_HINT_FIT:
                causes.append(f'hint {key.split("/")[1]} fits the teacher map poorly (fit {fit:.2f}): another pair '
                              'of layers, or an adapter')
        found = '; '.join(causes) if causes else ('the diagnostics point at no single cause (the teacher is right '
                                                  'more often than the student, no term dominates the gradient)')
        parts.append(f'- **{name}** ({record["mean"]:+.1f}, {quantities["runs"]} run(s)): {found}.')
    return '\n\n## Why a method lost (from its diagnostics)\n\n' + '\n'.join(parts) if parts else ''


def diagnostics_section(work_dir: str, seeds, roles: List[str], since: float) -> str:
    """Markdown: the distilled runs' (``roles``) ``DistillationDiagnosticsHook`` summaries (mean over the
    measurements of each run) and their warnings, from the files written after ``since``; empty without a
    diagnostics hook."""
    from det_kd.models.distillation.diagnostics import format_summary

    parts = []
    for role in roles:
        for seed, path in _diagnostics_files(work_dir, seeds, role, since):
            with open(path) as f:
                record = json.load(f)
            warnings = ''.join(f"\n- iteration {w['iter']}: {w['message']}"
                               for w in record.get('warnings', [])) or '\n- none'
            parts.append(f'{role}, seed {seed} (`{osp.relpath(path, work_dir)}`, {len(record["measurements"])} '
                         f'measurements):\n\n```\n{format_summary(record["summary"])}\n```\n\nWarnings:{warnings}')
    return '\n\n## Distillation diagnostics\n\n' + '\n\n'.join(parts) if parts else ''


def anchor_record(choice: AnchorChoice) -> dict:
    """An anchor decision for results.json: the fitted generator (None: kept), the coverage before and after."""
    return dict(fitted_generator=choice.generator, poor_fit=choice.poor, before=vars(choice.before),
                after=vars(choice.after) if choice.after else None, message=choice.message)


def resolution_sentence(num_seeds: int, num_val: int) -> str:
    """What the chosen seeds and validation images can resolve, before anything trains
    (:func:`~.gain.resolvable_gain`)."""
    smallest = resolvable_gain(num_seeds, num_val)
    if smallest is None:
        return (f'resolution: one seed gives no interval over seeds, only a bootstrap over the {num_val} validation '
                'images (training noise not included): use --seeds with 3 or more for an answer')
    return (f'resolution: with {num_seeds} paired seeds and {num_val} validation images, a mean VOC07 gain below '
            f'about {smallest[0]:.1f}-{smallest[1]:.1f} points will not be resolved (its 95 % interval will include 0; '
            'estimated from the per-seed spread measured on the synthetic data, BCCD and web photos); more seeds or '
            'validation images narrow it')


def teacher_cache_note(work_dir: str, methods: List[DemoMethod], refusals: Dict[str, Optional[str]]) -> str:
    """How the distilled runs get their teacher: from the cache, or live (and why), per method where they
    differ."""
    cached = [m for m in methods if not refusals[m.role]]
    note = (f'the distilled runs compute the teacher once per image and augmentation and read it back from '
            f'{work_dir}/teacher_cache (CachedTeacher, float32: the live teacher\'s losses; --no-teacher-cache: the '
            'live teacher)' if cached else '')
    live = [f'{m.label or "the distilled runs"}: live teacher ({refusals[m.role]})' for m in methods
            if refusals[m.role]]
    if cached and live:
        note = f'{note}; except {"; ".join(live)}'
    return note or ('the distilled runs use the live teacher ' + f'({refusals[methods[0].role]})' if len(methods) == 1
                    else '; '.join(live))


def weaker_teacher_note(runs: Dict[str, Dict[int, dict]]) -> str:
    """A paragraph when the teacher scores below the baseline student on VOC07 mAP@0.5 (means over their runs):
    what a gain then means. Empty otherwise."""
    teacher, baseline = (mean_std(per_seed_percent_values(runs[role])[BOOTSTRAP_METRIC].values())[0]
                         for role in ('teacher', 'baseline'))
    if teacher >= baseline:
        return ''
    return (f'\n\n**The teacher ({teacher:.1f}) scores below the baseline student ({baseline:.1f}).** A gain '
            'here is not a better model\'s knowledge passed on: the soft targets and hints of a weaker model act '
            'as a regulariser of the student\'s training. A stronger teacher (trained longer, larger, or your own '
            'trained detector: --teacher-checkpoint) is the way to a gain from its knowledge.')


def methods_section(methods: List[DemoMethod], gains: Dict[str, dict], runs: Dict[str, Dict[int, dict]]) -> str:
    """Markdown: the paired gain of the single distilled student, or the methods ranked (with whether the
    ranking is resolved) and each method's gain."""
    weaker = weaker_teacher_note(runs)
    if len(methods) == 1:
        return '\n\n## Distilled minus baseline\n\n' + gain_markdown(gains[methods[0].role]) + weaker
    by_label = {m.label: gains[m.role] for m in methods}
    distilled = {m.label: per_seed_percent_values(runs[m.role])[BOOTSTRAP_METRIC] for m in methods}
    text = '\n\n## Methods ranked\n\n' + ranking_markdown(by_label, distilled, BOOTSTRAP_METRIC) + weaker
    return text + ''.join(f'\n\n### {m.label} minus baseline\n\n' + gain_markdown(gains[m.role]) for m in methods)
