"""The demo (``tools/demo.py``): does distillation work? A teacher, a baseline student and a distilled student
per seed on generated data or on the user's own (:mod:`.user_data`), evaluated side by side.

For each seed it trains the three with the same schedule and seed (or distils every seed from one given
teacher checkpoint), tests them on the same validation images, measures params and CPU latency, and writes
``results.md`` (the table; the paired gain of distillation with its 95 % intervals over seeds and, per seed,
over validation images; the distillation diagnostics), ``results.json``, ``accuracy_vs_cost.png`` and every
log into the work directory. A stopped demo continues with ``resume`` (see :mod:`.train_test`).
"""
import argparse
import copy
import json
import os
import os.path as osp
import time
from contextlib import ExitStack, contextmanager
from typing import Dict, Iterator, List, Optional, Tuple, Union

from mmengine.config import Config

from det_kd.benchmark.environment import load_average, machine_info
from det_kd.synthetic import generate_dataset
from det_kd.utils.work_dir_lock import WorkDirBusy, work_dir_lock
from .anchor_fit import AnchorChoice, choose_anchors
from .demo_report import (anchor_record, diagnostics_section, lost_method_advice, methods_section,
                          resolution_sentence, teacher_cache_note)
from .gain import BOOTSTRAP_METRIC, checked_bootstrap_by_seed, gain_summary, per_seed_percent_values
from .method_screen import DemoMethod, demo_methods, ranking
from .run_configs import write_run_config
from .results import (METRICS, mean_std, per_class_markdown, per_seed_percent, results_table, seeds_summary,
                      took_minutes)
from .schedule import schedule_options
from .stages import REPO, StageError
from .teacher_cache import teacher_cache_options, teacher_cache_refusal
from .train_test import evaluate_checkpoint, train_and_test

CONFIGS = osp.join(REPO, 'configs')
# The demo's models (see configs/demo and benchmarks/results/demo_exploration.md): the synthetic configs at
# 256x192, where 24 epochs of all three trainings fit the demo's time budget.
DEFAULT_TEACHER = osp.join(CONFIGS, 'demo', 'faster-rcnn_vgg16-w0.25_demo.py')
DEFAULT_STUDENT = osp.join(CONFIGS, 'demo', 'faster-rcnn_alexnet-w0.25_demo.py')
# The paper's loss with the hint at gamma 10 and centre-aligned: the best of the variants measured over paired
# seeds (benchmarks/results/kd_regime_synthetic.md); the paper's own settings:
# --kd configs/demo/kd_alexnet-w0.25-vgg16-w0.25_demo.py.
DEFAULT_KD = osp.join(CONFIGS, 'demo', 'kd_alexnet-w0.25-vgg16-w0.25_hint10-centre_demo.py')
#: Minutes of one seed with the default settings on 2 idle CPU cores, per stage (training and test), and the
#: rest (data, export, latency, bootstrap): benchmarks/results/demo_one_seed.md.
MEASURED_MINUTES = dict(teacher=6.7, baseline=1.8, distilled=3.8, rest=0.7)
#: How to read results.json, written into it.
JSON_NOTES = dict(
    values='full floats; metrics in percent as the test runs report them (MMDetection\'s CocoMetric rounds '
    'to 0.1 points, its VOCMetric does not), per_seed lists in increasing seed order',
    load_average='1, 5 and 15 minute load averages at the start and at the end of the demo')


#: What the demo writes directly into its work directory (besides its folders: configs/, seed*/, data/).
RESULT_FILES = ('results.md', 'results.json', 'accuracy_vs_cost.png', 'predictions.png', 'predictions')


def _written_by_a_demo(path: str) -> bool:
    """Whether ``results.md`` / ``results.json`` at ``path`` is a demo's (its heading, its keys)."""
    try:
        with open(path, encoding='utf-8') as f:
            if path.endswith('.md'):
                return f.readline().rstrip('\n') == '# det_kd demo'
            record = json.load(f)
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(record, dict) and {'args', 'per_seed', 'gain', 'notes'} <= set(record)


def check_result_files(work_dir: str) -> None:
    """Refuses a work directory holding files under the names of the demo's results that no demo wrote (a
    user's ``results.md``, ...): the demo would write over them. Results of an earlier demo there are left to
    the stages' own check (refused without ``--resume``, rewritten with it).

    Raises:
        StageError: Naming the files.
    """
    present = [name for name in RESULT_FILES if osp.exists(osp.join(work_dir, name))]
    demo_files = [name for name in ('results.md', 'results.json')
                  if name in present and _written_by_a_demo(osp.join(work_dir, name))]
    a_demo_ran = bool(demo_files) or osp.isfile(osp.join(work_dir, 'configs', 'baseline.py'))
    foreign = [name for name in present if name not in demo_files and (name.startswith('results') or not a_demo_ran)]
    if foreign:
        raise StageError(f'--work-dir {work_dir} holds {", ".join(foreign)}, which no demo wrote: the demo writes its '
                         'results under these names and never writes over your files; use another --work-dir (or '
                         'move them)')


def metrics_only(metrics: dict) -> dict:
    """A run's test metrics without the paths ``train_and_test`` adds."""
    return {k: v for k, v in metrics.items() if k not in ('checkpoint', 'predictions', 'stage')}


def paired_gain(runs: Dict[str, Dict[int, dict]], distilled: str, student_config: str, num_samples: int) -> dict:
    """The ``distilled`` role's runs minus the baseline's over the paired seeds, with the bootstrap over
    validation images per seed (its recomputed mAPs checked against the test runs'); ``student_config`` is the
    baseline's run config."""
    values = {role: per_seed_percent_values(runs[role]) for role in ('teacher', 'baseline', distilled)}
    teacher = {key: mean_std(per_seed.values())[0] for key, per_seed in values['teacher'].items()}
    predictions = {role: {seed: run['predictions'] for seed, run in runs[role].items()} if num_samples else {}
                   for role in ('baseline', distilled)}
    bootstrap = checked_bootstrap_by_seed(student_config, predictions['baseline'], predictions[distilled],
                                          values['baseline'][BOOTSTRAP_METRIC], values[distilled][BOOTSTRAP_METRIC],
                                          num_samples)
    return gain_summary(values['baseline'], values[distilled], teacher, bootstrap)


def expected_minutes(args: argparse.Namespace, num_train: int, input_size, num_methods: int = 1) -> float:
    """The demo's time on 2 idle CPU cores, scaled from :data:`MEASURED_MINUTES` (200 training images at
    256x192) by the seeds, the epochs, the training images, the input area and the distillation methods (a
    given teacher checkpoint skips the teacher's training)."""
    per_seed = MEASURED_MINUTES['baseline'] + num_methods * MEASURED_MINUTES['distilled']
    per_seed += 0.0 if args.teacher_checkpoint else MEASURED_MINUTES['teacher']
    scale = args.epochs / 24 * num_train / 200 * input_size[0] * input_size[1] / (256 * 192)
    return len(args.seeds) * per_seed * scale + MEASURED_MINUTES['rest']


def user_dataset(args: argparse.Namespace):
    """The user's dataset (``--voc-root`` or ``--data-config``) as a :class:`~.user_data.UserDataset`, and
    the input size (``--input-size`` or the data's default); None and the generated data's size without
    either."""
    from .user_data import config_dataset, default_input_size, voc_dataset

    try:
        if args.voc_root:
            dataset = voc_dataset(args.voc_root, args.classes, args.train_split, args.val_split)
        elif args.data_config:
            dataset = config_dataset(args.data_config, os.getcwd())
        else:
            return None, tuple(args.img_size)
        return dataset, tuple(args.input_size) if args.input_size else default_input_size(dataset)
    except (FileNotFoundError, KeyError, ValueError) as error:  # a wrong folder, split, config key, annotation
        raise StageError(f'your data: {error}') from error


def demo_anchors(args: argparse.Namespace, dataset, input_size,
                 sources: Dict[str, Union[str, Config]]) -> Dict[str, AnchorChoice]:
    """The anchor decision (:func:`~.anchor_fit.choose_anchors`) for each of the demo's configs (``sources``:
    role -> config file or built config) on a user's ``dataset``: each config's RPN anchors fitted to the
    training boxes at ``input_size`` when they fit them poorly (always with ``--fit-anchors``), the same fit for
    the same anchors (the demo's teacher and students share theirs, as the RPN terms need). Kept with
    ``--keep-anchors``, and with a given teacher checkpoint (it was trained with its anchors, and the RPN terms
    compare the students' with them). Every class weighs the same in the shares and the fit (mAP averages over
    classes: BCCD's 3,348 red cells must not push out the anchors of its 292 platelets). Empty on the generated
    data (its configs' anchors are made for it)."""
    if dataset is None:
        return {}
    from .user_data import boxes_at_input, class_balanced_weights

    kept = ('--keep-anchors' if args.keep_anchors else
            '--teacher-checkpoint: the given teacher was trained with its anchors, and the RPN terms compare the '
            'students\' anchors with them one by one' if args.teacher_checkpoint else None)
    boxes, choices, by_generator = boxes_at_input(dataset, input_size), {}, {}
    for role, source in sources.items():
        model = (source if isinstance(source, Config) else Config.fromfile(source)).model
        key = repr((model.get('rpn_head') or {}).get('anchor_generator'))
        if key not in by_generator:
            by_generator[key] = choose_anchors(model, boxes, input_size, kept, always=args.fit_anchors,
                                               weights=class_balanced_weights(dataset.object_labels))
        if by_generator[key] is not None:
            choices[role] = by_generator[key]
    return choices


def write_demo_configs(args: argparse.Namespace, work_dir: str, teacher_checkpoint: str,
                       sources: Dict[str, Union[str, Config]], dataset=None, input_size=None,
                       anchor_generators: Optional[Dict[str, dict]] = None) -> Dict[str, str]:
    """Writes the configs the demo runs (``sources``: role -> config file or built config) into
    ``<work_dir>/configs/<role>.py``: ``teacher.py``, ``baseline.py`` (the plain student, also the test config
    of the distilled students) and one per distilled student (``distilled.py``), each with the demo's
    schedule and absolute data paths (:func:`~.run_configs.write_run_config`), the distillation config with
    ``teacher_checkpoint``. On a user's ``dataset`` the pair's configs are first put on that data at
    ``input_size`` (:func:`~.user_data.model_config_for`; the distillation config reads its teacher from the
    written ``teacher.py``), with the RPN anchor generators of ``anchor_generators`` (``{role: generator}``; a
    role without one, or None, keeps its config's). Returns ``{role: path}``.

    Raises:
        StageError: The work directory holds configs of a demo with other settings.
    """
    paths = {role: osp.join(work_dir, 'configs', f'{role}.py') for role in sources}
    if dataset is not None:
        from .user_data import model_config_for

        own_pipelines = bool(args.data_config)
        try:
            sources = {role: model_config_for(config, dataset, input_size, own_pipelines, paths['teacher'],
                                              (anchor_generators or {}).get(role))
                       for role, config in sources.items()}
        except ValueError as error:  # a pipeline the demo cannot size, a model it cannot set the classes of
            raise StageError(f'your data: {error}') from error
    else:
        sources = {role: config if role in ('teacher', 'baseline') else distilling(config, args.teacher)
                   for role, config in sources.items()}
    schedule = schedule_options(args.epochs, args.seeds[0])
    options = {role: schedule if role in ('teacher', 'baseline') else
               schedule + [f'model.teacher.checkpoint={teacher_checkpoint}'] for role in sources}
    try:
        return {role: write_run_config(sources[role], paths[role], work_dir, options[role]) for role in paths}
    except FileExistsError as error:
        raise StageError(str(error)) from error


def distilling(config: Union[str, Config], teacher_config: str) -> Union[str, Config]:
    """A distillation config whose teacher is ``teacher_config`` (``--teacher``): unchanged where it is already
    (the demo's own configs), else a copy with ``model.teacher.config`` set to it."""
    cfg = config if isinstance(config, Config) else Config.fromfile(config)
    teacher = cfg.model.get('teacher')
    if not isinstance(teacher, dict) or osp.realpath(str(teacher.get('config'))) == osp.realpath(teacher_config):
        return config
    cfg = copy.deepcopy(cfg)
    cfg.model.teacher.config = teacher_config
    return cfg


def run_commands(title: str, config: str, test_config: str, run_dir: str, options: List[str], epochs: int,
                 export: bool) -> str:
    """The shell commands that reproduce one run of the demo from the repo root: train, export the student of
    a distillation run (``export``), test."""
    trained = osp.join(run_dir, f'epoch_{epochs}.pth')
    tested = osp.join(run_dir, 'student.pth') if export else trained
    lines = [f'# {title}', f'python tools/train.py {config} --work-dir {run_dir} --cfg-options {" ".join(options)}']
    lines += [f'python tools/export_student.py {trained} --out {tested}'] if export else []
    return '\n'.join(lines + [f'python tools/test.py {test_config} {tested}'])


def run_demo(args: argparse.Namespace, data: Optional[tuple] = None) -> None:
    """Runs the demo that ``tools/demo.py``'s arguments ``args`` describe (see the module docstring); ``data``
    (a :class:`~.user_data.UserDataset` and the input size) replaces the data the arguments name (a fold). The
    work directory is held for the whole run (:func:`~det_kd.utils.work_dir_lock.work_dir_lock`).

    Raises:
        StageError: A stage's tool failed, the work directory holds runs of other settings, or another process
            runs in it.
    """
    with held_work_dir(args.work_dir, 'tools/demo.py'):
        _run_demo(args, data)


@contextmanager
def held_work_dir(work_dir: str, tool: str) -> Iterator[None]:
    """``work_dir`` checked for result files no demo wrote (before the lock file: a refused folder stays as it
    was), then held for ``tool`` inside the ``with`` block.

    Raises:
        StageError: Such result files, or another process holds the work directory.
    """
    check_result_files(osp.abspath(work_dir))
    with ExitStack() as stack:
        try:
            stack.enter_context(work_dir_lock(osp.abspath(work_dir), tool))
        except WorkDirBusy as error:
            raise StageError(str(error)) from error
        yield


def _run_demo(args: argparse.Namespace, data: Optional[tuple]) -> None:
    start, load_at_start = time.time(), load_average()
    work_dir = osp.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    progress = not args.no_progress
    threads = os.environ.get('OMP_NUM_THREADS')
    print(f"[demo] OMP_NUM_THREADS={threads or 'unset (every core)'}; on a shared machine run one-thread jobs "
          '(OMP_NUM_THREADS=1): oversubscribed threads are several times slower')
    dataset, input_size = data or user_dataset(args)
    try:
        methods = demo_methods(args.kd, args.methods, args.epochs)
    except ValueError as error:  # an unknown method, a config of another pair
        raise StageError(str(error)) from error
    sources = dict(teacher=args.teacher, baseline=args.student, **{m.role: m.config for m in methods})
    if args.methods:
        print(f'[demo] methods: {", ".join(m.label for m in methods)}, each on the same seeds against the same '
              'baselines')
    if dataset is None:
        num_train, num_val, data_name = args.num_train, args.num_val, 'synthetic shapes'
    else:
        num_train, num_val, data_name = len(dataset.image_sizes), dataset.num_val_images, dataset.source
        print(f'[demo] data: {dataset.source}; {num_train} training images, {num_val} validation images; '
              f'classes (training boxes): {dataset.counted()}; input size {input_size[0]}x{input_size[1]}')
    minutes = expected_minutes(args, num_train, input_size, len(methods))
    print(f'[demo] expected time: about {minutes:.0f} minutes on 2 idle CPU '
          'cores (scaled from the default one-seed demo, measured at 13 minutes); several times longer on busy '
          'ones')
    print(f'[demo] {resolution_sentence(len(args.seeds), num_val)}')
    notes = []
    if dataset is None:
        print(f'[demo] generating {args.num_train} + {args.num_val} synthetic images in {work_dir}/data/synthetic')
        generate_dataset(osp.join(work_dir, 'data', 'synthetic'), num_train=args.num_train, num_val=args.num_val,
                         img_size=tuple(args.img_size), seed=0, formats=('coco', ), progress=progress)
    else:
        notes += dataset.notes
        for line in notes:
            print(f'[demo] warning: {line}')
    teacher_terms = ''
    if args.teacher_checkpoint:  # a trained teacher, possibly of another architecture: its classes, its terms
        sources, teacher_terms, teacher_notes = given_teacher_sources(args, methods, sources, dataset, input_size)
        notes += teacher_notes
        for note in teacher_notes:
            print(f'[demo] warning: {note}')
        print('[demo] distillation terms for the given teacher:\n' + teacher_terms)

    first_teacher = args.teacher_checkpoint or osp.join(work_dir, f'seed{args.seeds[0]}', 'teacher',
                                                        f'epoch_{args.epochs}.pth')
    anchors = demo_anchors(args, dataset, input_size, sources)
    anchor_messages = list(dict.fromkeys(choice.message for choice in anchors.values()))
    for message in anchor_messages:
        print(f'[demo] anchors: {message}')
    notes += list(dict.fromkeys(f'Anchors: {choice.message}' for choice in anchors.values()
                                if choice.poor and choice.generator is None))
    run_config = write_demo_configs(args, work_dir, first_teacher, sources, dataset, input_size,
                                    {role: choice.generator for role, choice in anchors.items()})
    cache_refusals = {method.role: '--no-teacher-cache' if args.no_teacher_cache else
                      teacher_cache_refusal(run_config[method.role]) for method in methods}
    cache_note = teacher_cache_note(work_dir, methods, cache_refusals)
    print(f'[demo] teacher: {cache_note}')
    runs, commands = train_demo_runs(args, work_dir, run_config, methods, cache_refusals, progress)

    from .latency import params_and_latency  # imports torch / mmdet: after the subprocess stages
    first_method = methods[0].role  # every distilled student has the student's architecture: timed once
    tested = {role: (run_config['teacher' if role == 'teacher' else 'baseline'],
                     next(iter(runs[source].values()))['checkpoint'])
              for role, source in (('teacher', 'teacher'), ('baseline', 'baseline'), ('distilled', first_method))}
    image_size = tuple(args.img_size) if dataset is None else timing_image_size(dataset, input_size)
    costs = params_and_latency(tested, image_size=image_size, runs=args.latency_runs, progress=not args.no_progress)
    titles = dict(teacher='teacher', baseline='baseline student', **{m.role: m.title for m in methods})
    architectures = dict(teacher=args.teacher, baseline=args.student, **{m.role: args.student for m in methods})
    models = [
        dict(name=title, role=role, architecture=osp.basename(architectures[role])[:-3],
             teacher=osp.basename(args.teacher)[:-3] if role not in ('teacher', 'baseline') else '-',
             runs={seed: metrics_only(metrics) for seed, metrics in runs[role].items()},
             params=costs[cost_role(role)]['params'], latency=costs[cost_role(role)]['latency'],
             input_size=costs[cost_role(role)]['input_size'])
        for role, title in titles.items()
    ]
    table = results_table(models)
    gains = {method.role: paired_gain(runs, method.role, run_config['baseline'], args.bootstrap) for method in methods}
    best = methods[0] if len(methods) == 1 else next(
        m for m in methods if m.label == ranking({m.label: gains[m.role] for m in methods}, BOOTSTRAP_METRIC)[0])
    table += methods_section(methods, gains, runs)
    table += '\n\n## VOC07 AP per class\n\n' + per_class_markdown(
        run_config['baseline'], {title: [run['predictions'] for run in runs[role].values()]
                                 for role, title in titles.items()})
    if teacher_terms:
        table += '\n\n## Distillation terms for the given teacher\n\n' + teacher_terms
    if anchor_messages:
        table += '\n\n## Anchors\n\n' + '\n'.join(f'- {message}' for message in anchor_messages)
    if notes:
        table += '\n\n## Warnings\n\n' + '\n'.join(f'- {note}' for note in notes)
    since = 0.0 if args.resume else start
    table += lost_method_advice(work_dir, args.seeds, methods, gains, since)
    diagnostics = diagnostics_section(work_dir, args.seeds, [m.role for m in methods], since)
    plotted = [m for m in models if m['role'] in ('teacher', 'baseline', best.role)]
    from det_kd.benchmark.plots import PlotPoint, plot_accuracy_cost
    plot_accuracy_cost([  # named by architecture: the arrow joins a baseline to its distilled student
        PlotPoint(name=m['architecture'], role=cost_role(m['role']),
                  metric=mean_std(per_seed_percent(m['runs'], 'pascal_voc/mAP'))[0],
                  latency_ms=m['latency']['median_ms'], params=m['params'],
                  latency_range_ms=(m['latency']['p10_ms'], m['latency']['p90_ms'])) for m in plotted
    ], osp.join(work_dir, 'accuracy_vs_cost.png'), metric_label='VOC07 mAP@0.5 (%)',
        title=f'det_kd demo: {dataset_title(dataset)}' + (f' (best method: {best.label})' if best.label else ''))
    minutes = (time.time() - start) / 60
    header = (f'# det_kd demo\n\nCommand: `{command_line(args)}`; {took_minutes(minutes, args.resume)}. '
              f'Data: {data_name}'
              f'{" at " + "x".join(map(str, input_size)) if dataset is not None else ""}. Metrics in percent '
              f'on {num_val} validation images (mean ± std over {len(args.seeds)} seed(s)); CPU latency: '
              f'median (p10-p90) ms of {args.latency_runs} timed `test_step` calls at batch 1 and the input '
              f'size of each model\'s test pipeline, {costs["teacher"]["threads"]} thread(s), models '
              f'interleaved. Teacher: {cache_note}.\n\n')
    with open(osp.join(work_dir, 'results.md'), 'w') as f:
        f.write(header + table + diagnostics + '\n\n## Commands of each run\n\n```bash\n' + '\n'.join(commands)
                + '\n```\n')
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        environment = dict(machine_info('cpu'), load_average=dict(start=load_at_start, end=load_average()))
        data = dict(source=data_name, input_size=list(input_size), num_train=num_train, num_val=num_val,
                    classes=list(dataset.classes) if dataset else None,
                    training_boxes=dataset.object_counts if dataset else None,
                    ignored_training_boxes=dataset.ignored_counts if dataset else None,
                    training_images_left_out=dataset.images_left_out if dataset else None, warnings=notes,
                    anchors={role: anchor_record(choice) for role, choice in anchors.items()})
        method_records = {m.role: dict(label=m.label, gain=gains[m.role]) for m in methods} if args.methods else None
        json.dump(dict(args=vars(args), data=data, titles=titles, per_seed=seeds_summary(models),
                       gain=gains[best.role], best_method=best.label or None, methods=method_records, costs=costs,
                       minutes=minutes, metrics=[key for key, _ in METRICS], environment=environment,
                       notes=JSON_NOTES), f, indent=2)
    print('\n' + table)
    if args.pictures > 0:  # after the results are written: a failure here costs only the picture
        first = args.seeds[0]
        print(f'[demo] drawing {args.pictures} validation images: {work_dir}/predictions.png')
        drawn = {role: titles[role] for role in ('teacher', 'baseline', best.role)}
        try:
            from .pictures import draw_predictions
            draw_predictions({name: runs[role].get(first, next(iter(runs[role].values())))['predictions']
                              for role, name in drawn.items()}, run_config['baseline'], work_dir, args.pictures,
                             args.score_thr, title=f'det_kd demo on {dataset_title(dataset)}, seed {first}',
                             compare=(drawn['baseline'], drawn[best.role]))
        except Exception as error:  # noqa: BLE001  (any drawing error: the numbers above stand)
            print(f'[demo] warning: predictions.png was not drawn: {type(error).__name__}: {error}')
    print(f'\n[demo] done in {minutes:.1f} minutes: {work_dir}/results.md, results.json, accuracy_vs_cost.png'
          f'{", predictions.png" if args.pictures > 0 else ""}, the configs it ran under configs/, logs under seed*/')


def given_teacher_sources(args: argparse.Namespace, methods: List[DemoMethod], sources: Dict[str, Union[str, Config]],
                          dataset, input_size) -> Tuple[Dict[str, Union[str, Config]], str, List[str]]:
    """For ``--teacher-checkpoint``: refuses a checkpoint trained on other classes than the data's (or another
    order), and matches every method's terms to the teacher's architecture
    (:func:`~.own_teacher.methods_for_teacher`). Returns the sources with the matched method configs, the
    markdown saying which terms are used and why, and the notes for ``results.md``: a checkpoint that records no
    classes, a teacher config that feeds its model another size than ``input_size``."""
    from det_kd.models.distillation.class_names import config_classes

    from .own_teacher import check_teacher_classes, input_size_note, methods_for_teacher

    classes = dataset.classes if dataset is not None else config_classes(args.student)
    unchecked = check_teacher_classes(args.teacher_checkpoint, classes) if classes else (
        f'the classes of {args.student} are unknown: the teacher\'s could not be checked')
    image_size = tuple(args.img_size) if dataset is None else timing_image_size(dataset, input_size)
    size_note = input_size_note(args.teacher, image_size, input_size)
    matched, described = methods_for_teacher(args.teacher, args.student,
                                             {m.role: (m.label, sources[m.role]) for m in methods})
    return dict(sources, **matched), described, [note for note in (unchecked, size_note) if note]


def cost_role(role: str) -> str:
    """The role a model's params and latency were measured under: every distilled student is ``distilled``."""
    return role if role in ('teacher', 'baseline') else 'distilled'


def train_demo_runs(args: argparse.Namespace, work_dir: str, run_config: Dict[str, str], methods: List[DemoMethod],
                    cache_refusals: Dict[str, Optional[str]], progress: bool):
    """Trains and tests every run of the demo, seed by seed (the teacher unless one is given, the baseline,
    each method); returns ``({role: {seed: metrics and paths}}, the shell commands of every run)``."""
    runs: Dict[str, Dict[int, dict]] = {role: {} for role in ('teacher', 'baseline', *[m.role for m in methods])}
    if args.teacher_checkpoint:  # one trained teacher for every seed: tested once
        runs['teacher'][args.seeds[0]] = dict(
            evaluate_checkpoint('teacher', run_config['teacher'], args.teacher_checkpoint,
                                osp.join(work_dir, 'teacher'), work_dir, progress), checkpoint=args.teacher_checkpoint)
    commands = []
    for seed in args.seeds:
        options = [f'randomness.seed={seed}']
        seed_dir = osp.join(work_dir, f'seed{seed}')
        stage = dict(cwd=work_dir, epochs=args.epochs, progress=progress, resume=args.resume)
        teacher_checkpoint = args.teacher_checkpoint or osp.join(seed_dir, 'teacher', f'epoch_{args.epochs}.pth')
        cache = teacher_cache_options(
            osp.join(work_dir, 'teacher_cache', 'given' if args.teacher_checkpoint else f'seed{seed}'))
        per_role = dict(teacher=options, baseline=options, **{
            m.role: options + [f'model.teacher.checkpoint={teacher_checkpoint}',
                               *([] if cache_refusals[m.role] else cache)] for m in methods})
        for role in [*([] if args.teacher_checkpoint else ['teacher']), 'baseline', *[m.role for m in methods]]:
            test_config = run_config['teacher' if role == 'teacher' else 'baseline']
            distilled = role not in ('teacher', 'baseline')
            runs[role][seed] = train_and_test(role, run_config[role], test_config, osp.join(seed_dir, role),
                                              options=per_role[role], export=distilled, **stage)
            commands.append(run_commands(f'seed {seed} {role}', run_config[role], test_config, osp.join(seed_dir, role),
                                         per_role[role], args.epochs, export=distilled))
            if runs[role][seed]['stage'] == 'read back':
                print(f'[demo] seed {seed} {role}: finished earlier, read back from {seed_dir}/{role}')
    return runs, commands


def timing_image_size(dataset, input_size) -> tuple:
    """``(W, H)`` of the image the models are timed on: the median training image of a user's dataset
    (``input_size`` if its annotations record no size)."""
    from .user_data import median_image_size

    median = median_image_size(dataset)
    return tuple(input_size) if median is None else (int(median[0]), int(median[1]))


def dataset_title(dataset) -> str:
    """A short name of the demo's data for titles: the user's folder or config file, or the synthetic shapes."""
    return 'synthetic shapes' if dataset is None else dataset.name


def command_line(args: argparse.Namespace) -> str:
    """The demo's command line for the results' header: the seeds, the data, the epochs, the configs that are
    not the defaults, a given teacher, the methods."""
    words = ['python tools/demo.py', f'--seeds {" ".join(map(str, args.seeds))}', data_arguments(args),
             f'--epochs {args.epochs}']
    words += [f'--{role} {osp.relpath(getattr(args, role), REPO)}' for role, default in
              (('teacher', DEFAULT_TEACHER), ('student', DEFAULT_STUDENT), ('kd', DEFAULT_KD))
              if getattr(args, role) != default]
    words += [f'--teacher-checkpoint {args.teacher_checkpoint}'] if args.teacher_checkpoint else []
    words += ['--methods ' + ' '.join(f"'{name}'" if ' ' in name else name for name in args.methods)] \
        if args.methods else []
    words += [f'--folds {args.folds}'] if getattr(args, 'folds', None) else []
    return ' '.join(words)


def data_arguments(args: argparse.Namespace) -> str:
    """The data arguments of the demo's command line, for the results' header."""
    if args.voc_root or args.data_config:
        words = [f'--voc-root {args.voc_root}' if args.voc_root else f'--data-config {args.data_config}']
        words += [f'--classes {" ".join(args.classes)}'] if args.classes else []
        words += [f'--{key.replace("_", "-")} {getattr(args, key)}' for key in ('train_split', 'val_split')
                  if getattr(args, key)]
        words += [f'--input-size {args.input_size[0]} {args.input_size[1]}'] if args.input_size else []
        words += ['--keep-anchors'] if args.keep_anchors else ['--fit-anchors'] if args.fit_anchors else []
        return ' '.join(words)
    return f'--num-train {args.num_train} --num-val {args.num_val} --img-size {args.img_size[0]} {args.img_size[1]}'

