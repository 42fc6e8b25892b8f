"""Which teacher? The paper's Table 1 for any dataset (``tools/teacher_grid.py``): teachers, baseline students
and every distilled teacher -> student pair, with paired seeds; a teacher-assistant chain and early-stopped
distillation as extra arms.

Every pair distils with one *recipe*: the ``model.distill`` and ``custom_hooks`` of a distillation config
(e.g. the demo's), put on the pair's student config with the pair's teacher config
(:func:`write_pair_config`). The runs are :class:`~.comparison.Arm` s (resumable, one folder per arm and seed):

- ``teacher_<T>``: each teacher trained once (``--teacher-seed``), its checkpoint teaching every seed;
- ``<S>``: the baseline student per seed; ``<S>_from_<T>``: the distilled student, paired with ``<S>`` by seed;
- ``<S>_from_<A>_from_<T>`` (``--assistant T A S``): the student distilled from the assistant ``<A>_from_<T>``
  of the same seed (Mirzadeh et al. 2020), paired with ``<S>_from_<T>``;
- ``<S>_from_<T>_stop<P>`` (``--early-stop``): the distillation terms off after P % of the iterations
  (``DistillationScheduleHook(stop_fraction=...)``, Cho & Hariharan 2019), paired with ``<S>`` and
  ``<S>_from_<T>``.

The distilled runs read their teacher from a cache (``<work_dir>/teacher_cache/<T>``, one per teacher
checkpoint, shared by every student and seed it teaches; the same losses as the live teacher) unless
``--no-teacher-cache`` or the recipe's pipeline cannot be cached.
"""
import argparse
import json
import os
import os.path as osp
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

from ..benchmark.environment import describe_machine, load_average, machine_info
from ..utils.work_dir_lock import work_dir_lock
from .comparison import Arm, paired_comparison, run_arms
from .gain import BOOTSTRAP_METRIC, format_gap_closed, format_interval, format_per_seed
from .results import format_latency, mean_std, metric_percent, took_minutes
from .run_configs import write_run_config
from .run_diagnostics import mean_quantities, run_diagnostics_paths
from .teacher_cache import teacher_cache_options, teacher_cache_refusal
from .train_test import evaluate_checkpoint

#: Chen et al. (2017), Table 1, PASCAL VOC07 test mAP: ``(student, teacher or None)`` -> mAP.
PAPER_TABLE1 = {
    ('Tucker', None): 54.7, ('Tucker', 'AlexNet'): 57.6, ('Tucker', 'VGGM'): 58.2, ('Tucker', 'VGG16'): 59.4,
    ('AlexNet', None): 57.2, ('AlexNet', 'VGGM'): 59.2, ('AlexNet', 'VGG16'): 60.1,
    ('VGGM', None): 59.8, ('VGGM', 'VGG16'): 63.7, ('VGG16', None): 70.4,
}


def paper_name(name: str) -> str:
    """A model name as the paper's table spells it (``VGG-M`` -> ``VGGM``; case as the paper)."""
    spelled = {key.lower(): key for key, _ in PAPER_TABLE1}
    return spelled.get(name.replace('-', '').replace('_', '').lower(), name)


def paper_map(student: str, teacher: Optional[str]) -> Optional[float]:
    """The paper's PASCAL mAP of ``student`` (distilled from ``teacher``, or alone), if the table has it."""
    return PAPER_TABLE1.get((paper_name(student), None if teacher is None else paper_name(teacher)))


@dataclass
class GridModel:
    """A model of the grid: its table name and config file."""
    name: str
    config: str


def parse_model(text: str) -> GridModel:
    """``NAME=CONFIG`` (the name is the table's and the run folders') into a :class:`GridModel`.

    Raises:
        ValueError: No ``=``, an empty name, a name that is not a plain folder name, or no such config file.
    """
    name, sep, config = text.partition('=')
    if not sep or not name or not config:
        raise ValueError(f'{text!r}: expected NAME=CONFIG, e.g. VGG16=configs/faster_rcnn/'
                         'faster-rcnn_vgg16-w0.25_12e_synthetic-coco.py')
    if not name.replace('-', '').replace('_', '').replace('.', '').isalnum():
        raise ValueError(f'{text!r}: the name {name!r} names run folders: letters, digits, "-", "_", "." only')
    if not osp.isfile(config):
        raise ValueError(f'{text!r}: no such config file {config}')
    return GridModel(name, osp.abspath(config))


def count_parameters(config: str) -> int:
    """Parameters of the detector ``config`` builds (random weights; no checkpoint is read)."""
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    register_all_modules(init_default_scope=True)
    model_cfg = Config.fromfile(config).model
    model_cfg.get('backbone', {}).pop('init_cfg', None)  # e.g. torchvision:// weights: not needed to count
    return sum(p.numel() for p in MODELS.build(model_cfg).parameters())


def grid_pairs(students: Sequence[GridModel], teachers: Sequence[GridModel], rule: str,
               params: Dict[str, int]) -> List[Tuple[GridModel, GridModel]]:
    """The ``(student, teacher)`` pairs: ``'larger'``: the teacher has more parameters than the student (the
    paper's lower triangle); ``'all'``: every pair of two different models."""
    return [(student, teacher) for student in students for teacher in teachers
            if student.name != teacher.name and (rule == 'all' or params[teacher.name] > params[student.name])]


def write_pair_config(recipe: str, student: str, teacher: str, out_path: str, data_dir: str,
                      options: Sequence[str] = (), stop_fraction: Optional[float] = None) -> str:
    """Writes the distillation config of one pair: ``student`` (a plain detector config) as a
    ``KDFasterRCNN`` with ``teacher``'s config and the recipe's ``model.distill`` and ``custom_hooks``; with
    ``stop_fraction``, the recipe's ``DistillationScheduleHook`` stops the terms after that fraction of the
    iterations (its other settings kept; added if the recipe has none). Data paths are made absolute under
    ``data_dir`` (:func:`~.run_configs.write_run_config`; an existing file with other content is refused).

    Raises:
        ValueError: ``recipe`` is not a distillation config (no ``model.distill``), or one of several teachers.
    """
    source = Config.fromfile(recipe)
    distill = source.model.get('distill')
    if distill is None or isinstance(source.model.get('teacher'), (list, tuple)):
        raise ValueError(f'{recipe}: the recipe must be a one-teacher distillation config with model.distill')
    hooks = [dict(hook) for hook in source.get('custom_hooks', [])]
    if stop_fraction is not None:
        schedule = [hook for hook in hooks if hook['type'] == 'DistillationScheduleHook']
        if not schedule:
            schedule = [dict(type='DistillationScheduleHook')]
            hooks.insert(0, schedule[0])
        for key in ('stop_iter', 'stop_epoch'):
            schedule[0].pop(key, None)
        schedule[0]['stop_fraction'] = stop_fraction
    cfg = Config.fromfile(student)
    cfg.merge_from_dict(dict(model=dict(type='KDFasterRCNN', teacher=dict(config=teacher, checkpoint=None),
                                        distill=distill.to_dict() if hasattr(distill, 'to_dict') else distill)))
    cfg.custom_hooks = hooks
    os.makedirs(osp.dirname(out_path), exist_ok=True)
    return write_run_config(cfg, out_path, data_dir, options)


def pair_name(student: str, *teachers: str) -> str:
    """The arm of ``student`` distilled from the chain ``teachers`` (nearest first)."""
    return '_from_'.join([student, *teachers])


def stop_name(student: str, teacher: str, fraction: float) -> str:
    return f'{pair_name(student, teacher)}_stop{round(100 * fraction)}'


@dataclass
class GridPlan:
    """The arms of a grid in the order they can run (each phase needs the checkpoints of the one before)."""
    teachers: List[Arm]
    students: List[Arm]  # baselines, the pairs and the early-stopped arms
    chains: List[Arm]  # teacher-assistant students (their teachers are distilled students)


def check_extra_arms(args: argparse.Namespace, pairs: List[Tuple[GridModel, GridModel]]) -> None:
    """At start-up: the early-stopped pair and the assistant chain are pairs of the grid (their comparisons
    need the full distillation and the direct pair), and every ``--teacher-checkpoint`` names a teacher.

    Raises:
        ValueError: Naming the option, the pair and the grid's pairs.
    """
    names = {(s.name, t.name) for s, t in pairs}
    listed = ', '.join(pair_name(s, t) for s, t in sorted(names))
    unknown = set(args.teacher_checkpoints) - {t.name for t in args.teachers}
    if unknown:
        raise ValueError(f'--teacher-checkpoint {sorted(unknown)}: not among the teachers '
                         f'{[t.name for t in args.teachers]}')
    if args.early_stop and tuple(args.early_stop_pair) not in names:
        raise ValueError(f'--early-stop-pair {" ".join(args.early_stop_pair)}: not a pair of the grid ({listed})')
    if args.assistant:
        teacher, assistant, student = args.assistant
        for needed in ((assistant, teacher), (student, teacher)):  # the assistant, and the direct pair
            if needed not in names:
                raise ValueError(f'--assistant {teacher} {assistant} {student}: the grid has no pair '
                                 f'{pair_name(*needed)} (pairs: {listed})')


def plan_grid(args: argparse.Namespace, pairs: List[Tuple[GridModel, GridModel]],
              teacher_checkpoints: Dict[str, str]) -> GridPlan:
    """The :class:`GridPlan` of ``tools/teacher_grid.py``'s arguments; writes the pairs' configs into
    ``<work_dir>/configs``. ``teacher_checkpoints`` maps each teacher to its checkpoint."""
    data_dir, configs = osp.abspath(args.data_dir), osp.join(osp.abspath(args.work_dir), 'configs')
    models = {model.name: model for model in [*args.students, *args.teachers]}

    def distilled(student: GridModel, teacher: GridModel, name: str, checkpoint: str, cache: str,
                  stop_fraction: Optional[float] = None) -> Arm:
        config = write_pair_config(args.recipe, student.config, teacher.config, osp.join(configs, f'{name}.py'),
                                   data_dir, stop_fraction=stop_fraction)
        options = [f'model.teacher.checkpoint={checkpoint}']
        if not args.no_teacher_cache and not teacher_cache_refusal(config):  # one cache per teacher checkpoint
            options += teacher_cache_options(osp.join(osp.abspath(args.work_dir), 'teacher_cache', cache))
        return Arm(name, config, student.config, data_dir, options, export=True)

    teachers = [Arm(f'teacher_{t.name}', t.config, t.config, data_dir, epochs=args.teacher_epochs,
                    seeds=[args.teacher_seed]) for t in args.teachers if t.name not in args.teacher_checkpoints]
    students = [Arm(s.name, s.config, s.config, data_dir) for s in args.students]
    students += [distilled(s, t, pair_name(s.name, t.name), teacher_checkpoints[t.name], t.name) for s, t in pairs]
    if args.early_stop:
        student, teacher = (models[name] for name in args.early_stop_pair)
        students += [distilled(student, teacher, stop_name(student.name, teacher.name, fraction),
                               teacher_checkpoints[teacher.name], teacher.name, fraction)
                     for fraction in args.early_stop]
    chains = []
    if args.assistant:
        teacher, assistant, student = (models[name] for name in args.assistant)
        # the assistant of seed s teaches the student of seed s: its exported student.pth, per seed
        checkpoint = osp.join(osp.abspath(args.work_dir), pair_name(assistant.name, teacher.name),
                              'seed{seed}', 'student.pth')
        assistant_arm = pair_name(assistant.name, teacher.name)
        chains = [distilled(student, assistant, pair_name(student.name, assistant.name, teacher.name), checkpoint,
                            f'{assistant_arm}_seed{{seed}}')]
    return GridPlan(teachers, students, chains)


def run_chain_arms(arms: List[Arm], args: argparse.Namespace) -> Dict[str, Dict[int, dict]]:
    """Runs the teacher-assistant arms seed by seed, each seed's teacher checkpoint and cache (``{seed}`` in
    their options) filled in."""
    runs: Dict[str, Dict[int, dict]] = {arm.name: {} for arm in arms}
    for seed in args.seeds:
        seeded = [Arm(arm.name, arm.config, arm.test_config, arm.data_dir,
                      [option.replace('{seed}', str(seed)) for option in arm.options], arm.epochs, [seed],
                      arm.export) for arm in arms]
        for name, by_seed in run_arms(seeded, [seed], args.work_dir, args.epochs, args.jobs, args.resume,
                                      not args.no_progress).items():
            runs[name].update(by_seed)
    return runs


def teacher_results(args: argparse.Namespace, runs: Dict[str, Dict[int, dict]]) -> Dict[str, dict]:
    """``{teacher: test metrics}``: of the trained teacher, or of a given ``--teacher-checkpoint`` (tested
    into ``<work_dir>/teacher_<T>/given``)."""
    results = {}
    for teacher in args.teachers:
        if teacher.name in args.teacher_checkpoints:
            run_dir = osp.join(osp.abspath(args.work_dir), f'teacher_{teacher.name}', 'given')
            results[teacher.name] = dict(evaluate_checkpoint(f'teacher {teacher.name}', teacher.config,
                                                             args.teacher_checkpoints[teacher.name], run_dir,
                                                             osp.abspath(args.data_dir), not args.no_progress),
                                         checkpoint=args.teacher_checkpoints[teacher.name])
        else:
            results[teacher.name] = runs[f'teacher_{teacher.name}'][args.teacher_seed]
    return results


def _values(runs: Dict[int, dict], metric: str) -> List[float]:
    return [metric_percent(metric, runs[seed][metric]) for seed in sorted(runs)]


def grid_record(args: argparse.Namespace, pairs, runs: Dict[str, Dict[int, dict]], teachers: Dict[str, dict],
                params: Dict[str, int]) -> dict:
    """Every arm's values and every comparison's paired gain (JSON-ready)."""
    metric = args.metric
    teacher_map = {name: metric_percent(metric, result[metric]) for name, result in teachers.items()}
    bootstrap = args.bootstrap if metric == BOOTSTRAP_METRIC else 0

    def compare(reference: str, other: str, test_config: str, teacher: Optional[str] = None) -> dict:
        gap = {metric: teacher_map[teacher]} if teacher else None
        return paired_comparison(test_config, runs[reference], runs[other], bootstrap, [(metric, metric)],
                                 (reference, other), teacher=gap)

    models = {model.name: model for model in [*args.students, *args.teachers]}
    comparisons = {}
    for student, teacher in pairs:
        comparisons[pair_name(student.name, teacher.name)] = dict(
            reference=student.name, student=student.name, teacher=teacher.name,
            **compare(student.name, pair_name(student.name, teacher.name), student.config, teacher.name))
    for student in args.students:  # "a larger teacher, a larger gain": each teacher against the next weaker one
        taught = sorted((teacher_map[t.name], t.name) for s, t in pairs if s.name == student.name)
        for (_, weaker), (_, stronger) in zip(taught, taught[1:]):
            comparisons[f'{pair_name(student.name, stronger)} vs {pair_name(student.name, weaker)}'] = dict(
                reference=pair_name(student.name, weaker), student=student.name, teacher=stronger,
                **compare(pair_name(student.name, weaker), pair_name(student.name, stronger), student.config))
    if args.early_stop:
        student, teacher = args.early_stop_pair
        full = pair_name(student, teacher)
        for fraction in args.early_stop:
            name = stop_name(student, teacher, fraction)
            comparisons[name] = dict(reference=student, student=student, teacher=teacher, stop_fraction=fraction,
                                     **compare(student, name, models[student].config, teacher))
            comparisons[f'{name} vs {full}'] = dict(reference=full, student=student, teacher=teacher,
                                                  **compare(full, name, models[student].config))
    if args.assistant:
        teacher, assistant, student = args.assistant
        chain, direct = pair_name(student, assistant, teacher), pair_name(student, teacher)
        comparisons[chain] = dict(reference=student, student=student,
                                  teacher=f'{teacher} -> {assistant} (assistant)',
                                  **compare(student, chain, models[student].config, teacher))
        comparisons[f'{chain} vs {direct}'] = dict(reference=direct, student=student, teacher=teacher,
                                                 **compare(direct, chain, models[student].config))
    values = {name: dict(zip(map(str, sorted(by_seed)), _values(by_seed, metric))) for name, by_seed in runs.items()}
    return dict(metric=metric, seeds=args.seeds, teacher_map=teacher_map, params=params, values=values,
                comparisons=comparisons)


def grid_table(args: argparse.Namespace, record: dict, latency: Dict[str, dict]) -> str:
    """The paper's Table 1 form: per student a row alone (params, latency, mAP), then a row per teacher (the
    distilled mAP and the paired gain), the paper's PASCAL mAP beside; then the assistant and early-stop rows."""
    metric, values, comparisons = record['metric'], record['values'], record['comparisons']
    lines = [f'| student | teacher (its {metric}) | {metric}, mean ± std | gain [95 % CI over seeds] | per seed | '
             'gap closed | params | latency | paper PASCAL (gain) |', '|---|---|---|---|---|---|---|---|---|']

    def paper(student: str, teacher: Optional[str]) -> str:
        value, alone = paper_map(student, teacher), paper_map(student, None)
        if value is None:
            return '-'
        return f'{value:.1f}' + (f' ({value - alone:+.1f})' if teacher and alone is not None else '')

    def row(student: str, teacher_cell: str, name: str, paper_cell: str, comparison: Optional[dict] = None,
            extra: str = '| | |') -> str:
        mean, std = mean_std(list(values[name].values()))
        if comparison is None:
            return f'| {student} | {teacher_cell} | {mean:.1f} ± {std:.1f} | - | - | - {extra} {paper_cell} |'
        gain = comparison['metrics'][metric]
        per_seed, closed = format_per_seed(gain['gains']), format_gap_closed(gain['gap_closed'])
        return (f"| {student} | {teacher_cell} | {mean:.1f} ± {std:.1f} | "
                f"{format_interval(gain['mean'], gain['low'], gain['high'])} | {per_seed} | {closed} {extra} "
                f'{paper_cell} |')

    for student in args.students:
        timing = latency.get(student.name, {}).get('latency')
        latency_cell = f'{format_latency(timing)} ms' if timing else '-'
        extra = f"| {record['params'][student.name] / 1e6:.2f} M | {latency_cell} |"
        lines.append(row(student.name, '- (alone)', student.name, paper(student.name, None), extra=extra))
        for name, comparison in comparisons.items():
            if comparison['student'] == student.name and comparison['reference'] == student.name:
                teacher = comparison['teacher']
                label = teacher
                if 'stop_fraction' in comparison:
                    label = f"{teacher}, stopped at {comparison['stop_fraction']:.0%}"
                teacher_map = record['teacher_map'].get(teacher)
                cell = f'{label} ({teacher_map:.1f})' if teacher_map is not None else label
                is_pair = teacher in record['teacher_map'] and 'stop_fraction' not in comparison
                lines.append(row('', cell, name, paper(student.name, teacher) if is_pair else '-', comparison))
    versus = [(name, c) for name, c in comparisons.items() if ' vs ' in name]
    for name, comparison in versus:
        gain = comparison['metrics'][metric]
        lines.append(f"\n{name.replace(' vs ', ' against ')} (paired by seed): "
                     f"{format_interval(gain['mean'], gain['low'], gain['high'])}, {gain['verdict']}.")
    return '\n'.join(lines)


def grid_diagnostics(work_dir: str, record: dict) -> Dict[str, dict]:
    """Per distilled arm compared with its student alone, what its runs' ``DistillationDiagnosticsHook`` measured
    (each quantity's mean over a run, averaged over seeds; :func:`~.run_diagnostics.mean_quantities`); arms
    without diagnostics are left out."""
    found = {}
    for name, comparison in record['comparisons'].items():
        if comparison['reference'] != comparison['student']:
            continue
        quantities = mean_quantities(run_diagnostics_paths(
            osp.join(work_dir, name, f'seed{seed}') for seed in record['seeds']))
        if quantities:
            found[name] = quantities
    return found


#: The diagnostics table's columns: ``(title, quantity)``; the teacher's and the student's answers on the
#: student's positive RoIs / anchors, the hint's fit and the share of the backbone's gradient of the hint and of
#: the detection losses.
DIAGNOSTICS_COLUMNS = (
    ('teacher right on the student\'s positive RoIs', 'rcn/teacher/pos_acc'),
    ('student right', 'rcn/student/pos_acc'),
    ('teacher fg p on positive anchors', 'rpn/teacher/pos_fg_prob'), ('student fg p', 'rpn/student/pos_fg_prob'),
    ('hint fit', 'hint/0/fit'), ('hint\'s backbone grad share', 'grad/hint/backbone_share'),
    ('detection losses\' share', 'grad/hard/backbone_share'),
)


def diagnostics_markdown(diagnostics: Dict[str, dict]) -> str:
    """The grid's diagnostics as a markdown table (one row per distilled arm; '-' where not measured)."""
    if not diagnostics:
        return ''
    lines = ['| distilled | ' + ' | '.join(title for title, _ in DIAGNOSTICS_COLUMNS) + ' | runs |',
             '|---' * (len(DIAGNOSTICS_COLUMNS) + 2) + '|']
    for name, quantities in diagnostics.items():
        cells = [f'{quantities[key]:.2f}' if key in quantities else '-' for _, key in DIAGNOSTICS_COLUMNS]
        lines.append(f'| {name} | ' + ' | '.join(cells) + f' | {quantities["runs"]} |')
    return ('\n\n## What each teacher gives (distillation diagnostics, mean over the runs)\n\n'
            'RoI / anchor columns: measured on the student\'s positive RoIs (sampled proposals) and anchors during '
            'training; hint fit: 1 - MSE(adapted student map, teacher map) / Var(teacher map) (1: reproduced, 0: no '
            'better than its mean).\n\n'
            + '\n'.join(lines))


def grid_plot(record: dict, pairs, path: str) -> None:
    """Gain (95 % interval over seeds) against the teacher's mAP, one line per student."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    metric, comparisons = record['metric'], record['comparisons']
    fig, ax = plt.subplots(figsize=(6, 4))
    for student in dict.fromkeys(s.name for s, _ in pairs):
        points = sorted((record['teacher_map'][t.name], comparisons[pair_name(student, t.name)]['metrics'][metric],
                         t.name) for s, t in pairs if s.name == student)
        xs = [x for x, _, _ in points]
        ys = [g['mean'] for _, g, _ in points]
        low = [g['mean'] - g['low'] if g['low'] is not None else 0 for _, g, _ in points]
        high = [g['high'] - g['mean'] if g['high'] is not None else 0 for _, g, _ in points]
        ax.errorbar(xs, ys, yerr=[low, high], marker='o', capsize=3, label=f'student {student}')
        for x, y, (_, _, teacher) in zip(xs, ys, points):
            ax.annotate(teacher, (x, y), textcoords='offset points', xytext=(4, 4), fontsize=8)
    ax.axhline(0, color='grey', lw=0.8)
    ax.set_xlabel(f'teacher {metric} (%)')
    ax.set_ylabel(f'gain over the student alone ({metric}, points)')
    ax.set_title(f"Which teacher? Paired gain, 95 % interval over {len(record['seeds'])} seeds")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_grid(args: argparse.Namespace) -> dict:
    """Runs the grid ``tools/teacher_grid.py``'s ``args`` describe and writes ``teacher_grid.md``, ``.json``
    and ``.png`` into the work dir, which it holds meanwhile (a second grid there is refused:
    :func:`~det_kd.utils.work_dir_lock.work_dir_lock`); returns the record.

    Raises:
        WorkDirBusy: Another process holds the work dir.
    """
    with work_dir_lock(osp.abspath(args.work_dir), 'tools/teacher_grid.py'):
        return _run_grid(args)


def _run_grid(args: argparse.Namespace) -> dict:
    start, load_before = time.time(), load_average()
    work_dir = osp.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    params = {model.name: count_parameters(model.config) for model in [*args.students, *args.teachers]}
    pairs = grid_pairs(args.students, args.teachers, args.pairs, params)
    if not pairs:
        raise ValueError(f'no teacher -> student pair with --pairs {args.pairs} (parameters: {params})')
    teacher_checkpoints = {t.name: args.teacher_checkpoints.get(t.name) or
                           osp.join(work_dir, f'teacher_{t.name}', f'seed{args.teacher_seed}',
                                    f'epoch_{args.teacher_epochs}.pth') for t in args.teachers}
    check_extra_arms(args, pairs)
    plan = plan_grid(args, pairs, teacher_checkpoints)
    progress = not args.no_progress
    runs = run_arms(plan.teachers, args.seeds, work_dir, args.epochs, args.jobs, args.resume, progress)
    runs.update(run_arms(plan.students, args.seeds, work_dir, args.epochs, args.jobs, args.resume, progress))
    runs.update(run_chain_arms(plan.chains, args))
    teachers = teacher_results(args, runs)
    record = grid_record(args, pairs, {name: by_seed for name, by_seed in runs.items()
                                       if not name.startswith('teacher_')}, teachers, params)
    latency = {}
    if args.latency_runs:
        from .latency import params_and_latency
        first = min(args.seeds)
        latency = params_and_latency({s.name: (s.config, runs[s.name][first]['checkpoint']) for s in args.students},
                                     tuple(args.image_size), runs=args.latency_runs, progress=progress)
    record['diagnostics'] = grid_diagnostics(work_dir, record)
    table = grid_table(args, record, latency) + diagnostics_markdown(record['diagnostics'])
    models = ('students', 'teachers')
    record.update(latency=latency, args={k: [vars(m) for m in v] if k in models else v for k, v in vars(args).items()},
                  machine=machine_info(), load_before=load_before, load_after=load_average(),
                  minutes=(time.time() - start) / 60)
    grid_plot(record, pairs, osp.join(work_dir, 'teacher_grid.png'))
    with open(osp.join(work_dir, 'teacher_grid.json'), 'w') as f:
        json.dump(record, f, indent=2, default=str)
    with open(osp.join(work_dir, 'teacher_grid.md'), 'w') as f:
        f.write(f"# Which teacher? Teacher x student grid\n\nRecipe `{args.recipe}`; seeds {args.seeds}; students "
                f"{args.epochs} epochs, teachers {args.teacher_epochs} (seed {args.teacher_seed}); metric "
                f"{args.metric}. Machine: {describe_machine(record['machine'])}; load average before "
                f"{load_before}, after {record['load_after']}; {took_minutes(record['minutes'], args.resume)}."
                f"\n\n{table}\n\n![gain against teacher mAP](teacher_grid.png)\n")
    print(table)
    return record
