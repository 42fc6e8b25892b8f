"""The paper's Table 3 sweep (``tools/tucker_sweep.py``): AlexNet Tucker-2 compressed to several FLOPs
ratios, each compressed detector fine-tuned alone and distilled from the teacher, from the same decomposed
weights with the same schedule.

Per seed it trains the teacher and the dense student (or takes given checkpoints), compresses the dense
detector's backbone to every ratio with ``tools/tucker_compress.py`` (FLOPs counted at the training image
size), trains the two compressed students and tests every model with its plain config.
"""
import argparse
import glob
import json
import os
import os.path as osp
import re
import time
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

from det_kd.models.detectors import DISTILLATION_ONLY_PREFIXES
from det_kd.synthetic import generate_dataset
from .results import format_mean_std, mean_std, metric_percent
from .schedule import schedule_options
from .stages import REPO, StageError, run_tool
from .train_test import evaluate_checkpoint, train_and_test

CONFIGS = osp.join(REPO, 'configs')
DEFAULT_TEACHER = osp.join(CONFIGS, 'demo', 'faster-rcnn_vgg16-w0.25_demo.py')
# 1/2 width: at 1/4 width conv1 (never decomposed) alone is 32% of the backbone FLOPs, so 20-30% would be out
# of reach (see the config).
DEFAULT_STUDENT = osp.join(CONFIGS, 'demo', 'faster-rcnn_alexnet-w0.5_demo.py')
# Its distillation settings (model.type, model.teacher options, model.distill, custom_hooks) are applied to
# every compressed student.
DEFAULT_KD = osp.join(CONFIGS, 'demo', 'kd_alexnet-w0.25-vgg16-w0.25_demo.py')

#: Table 3 of Chen et al. (2017): FLOPs ratio -> PASCAL VOC07 mAP (fine-tune only, distilled from VGG16).
PAPER_TABLE3: Dict[float, Tuple[float, float]] = {
    0.2: (30.3, 35.5),
    0.25: (49.3, 55.4),
    0.3: (51.4, 56.8),
    0.375: (54.7, 59.4),
    0.45: (55.2, 59.5),
}
#: Table 1 of Chen et al. (2017): PASCAL VOC07 mAP of the VGG16 teacher and the dense AlexNet.
PAPER_TEACHER, PAPER_DENSE = 70.4, 57.2


def check_reachable(config: str, ratios: Sequence[float], input_size: Sequence[int]) -> None:
    """Fails before any training if Tucker-2 cannot bring ``config``'s backbone to every ratio.

    Raises:
        SystemExit: Naming the config and the ratios out of reach (e.g. the first conv, never decomposed, is
            already a larger share of the FLOPs).
    """
    from mmdet.registry import MODELS  # imports torch and mmdet: only when a sweep really starts
    from mmdet.utils import register_all_modules

    import det_kd  # noqa: F401  (registers det_kd's models)
    from det_kd.compression import conv_specs, select_tucker_ranks
    register_all_modules()
    specs = conv_specs(MODELS.build(Config.fromfile(config).model).backbone, input_size)
    errors = []
    for ratio in ratios:
        try:
            select_tucker_ranks(specs, ratio)
        except ValueError as error:
            errors.append(str(error))
    if errors:
        raise SystemExit(f'{config} at {input_size[0]}x{input_size[1]}:\n' + '\n'.join(errors))


def model_cost(config: str, input_size: Sequence[int]) -> Dict[str, int]:
    """``params`` of the detector and ``backbone_flops`` (conv multiply-adds of its backbone at ``(H, W)``)."""
    from mmdet.registry import MODELS

    from det_kd.compression import conv_macs
    model = MODELS.build(Config.fromfile(config).model)
    return dict(params=sum(p.numel() for p in model.parameters()),
                backbone_flops=conv_macs(model.backbone, input_size))


def write_kd_config(compressed_config: str, kd_template: str, teacher_config: str) -> str:
    """Writes ``kd_<compressed config>`` next to the compressed config: it ``_base_``-inherits it (so its
    ``load_from``, the decomposed weights) and takes the distillation settings of ``kd_template``.

    Returns:
        str: The path written.
    """
    template = Config.fromfile(kd_template).to_dict()
    model = template.get('model', {})
    if 'teacher' not in model or 'distill' not in model:
        raise ValueError(f'{kd_template}: a distillation config needs model.teacher and model.distill')
    teacher = dict(model['teacher'], config=teacher_config, checkpoint=None)
    path = osp.join(osp.dirname(compressed_config), 'kd_' + osp.basename(compressed_config))
    with open(path, 'w') as f:
        f.write(f'# Written by tools/tucker_sweep.py: {osp.basename(compressed_config)} distilled from '
                f'{osp.basename(teacher_config)}\n# with the settings of {kd_template};\n'
                '# the sweep passes model.teacher.checkpoint as a --cfg-options.\n'
                f"_base_ = './{osp.basename(compressed_config)}'\n\n"
                f"model = dict(type={model['type']!r}, teacher={teacher!r}, distill={model['distill']!r})\n\n"
                f"custom_hooks = {template.get('custom_hooks', [])!r}\n")
    return path


def check_student_loaded(train_log: str, checkpoint: str) -> List[str]:
    """Checks in a training log that mmengine's ``load_from`` loaded ``checkpoint`` into every student weight.

    mmengine loads ``load_from`` non-strictly and only warns about the keys it could not match; a
    distillation model may miss only its adaptation layers (``DISTILLATION_ONLY_PREFIXES``).

    Returns:
        List[str]: The model keys the checkpoint did not hold.

    Raises:
        StageError: If the log does not show the load, or the checkpoint left any other key unloaded, held keys
            the model lacks, or had tensors of other shapes.
    """
    with open(train_log) as f:
        text = f.read()
    end = text.find(f'Load checkpoint from {checkpoint}')
    if end < 0:
        raise StageError(f'{train_log}: no "Load checkpoint from {checkpoint}": load_from was not loaded')
    start = text.rfind(f'from path: {checkpoint}', 0, end)  # mmengine's "Loads checkpoint by ... from path:"
    block = text[start if start >= 0 else 0:end]
    missing = re.findall(r'missing keys in source state_dict: (.*)', block)
    missing_keys = [key.strip() for line in missing for key in line.split(',') if key.strip()]
    problems = [f'student keys not loaded: {key}' for key in missing_keys
                if not key.startswith(DISTILLATION_ONLY_PREFIXES)]
    problems += [f'unexpected keys: {keys}' for keys in re.findall(r'unexpected key in source state_dict: (.*)',
                                                                   block)]
    if 'size mismatch' in block or 'While copying the parameter' in block:
        problems.append('tensors of another shape (see the log)')
    if problems:
        raise StageError(f'{train_log}: {checkpoint} did not load into the student: ' + '; '.join(problems))
    return missing_keys


def logged_teacher_metric(train_log: str, metric: str) -> Optional[float]:
    """The teacher's ``metric`` that ``TeacherEvaluationHook`` logged before training, if it did."""
    with open(train_log) as f:
        found = re.findall(r'teacher: .*?' + re.escape(metric) + r': ([0-9.eE+-]+)', f.read())
    return float(found[-1]) if found else None


def compress(dense_config: str, dense_checkpoint: str, ratio: float, out_dir: str, input_size: Sequence[int],
             cwd: str) -> str:
    """Runs ``tools/tucker_compress.py`` into ``out_dir`` (log ``compress.log``); returns the config written."""
    run_tool('tucker_compress.py', [dense_config, dense_checkpoint, '--flops-ratio', f'{ratio:g}', '--out', out_dir,
                                    '--input-size', *map(str, input_size)],
             osp.join(out_dir, 'compress.log'), f'tucker {ratio:g}: compress', cwd, show_progress=False)
    written = [path for path in glob.glob(osp.join(out_dir, '*_tucker*.py'))
               if not osp.basename(path).startswith('kd_')]
    if len(written) != 1:
        raise StageError(f'tools/tucker_compress.py wrote {written} in {out_dir}, expected one config')
    return written[0]


def sweep_seed(args: argparse.Namespace, seed: int, cwd: str, input_size: Tuple[int, int]) -> dict:
    """Everything for one seed: teacher, dense student, and per ratio the compressed, fine-tuned and distilled
    students. Returns ``{'teacher': metrics, 'dense': metrics, 'ratios': {ratio: {...}}}``."""
    progress = not args.no_progress
    seed_dir = osp.join(args.work_dir, f'seed{seed}')
    options = schedule_options(args.epochs, seed) + list(args.cfg_options)
    finetune_options = schedule_options(args.finetune_epochs, seed) + list(args.cfg_options)

    def pretrained(name: str, config: str, checkpoint: Optional[str]) -> dict:
        run_dir = osp.join(seed_dir, name)
        if checkpoint is None:
            return train_and_test(name, config, config, run_dir, cwd, options, args.epochs, progress,
                                  resume=args.resume)
        return dict(evaluate_checkpoint(name, config, checkpoint, run_dir, cwd, progress), checkpoint=checkpoint)

    teacher = pretrained('teacher', args.teacher, args.teacher_checkpoint)
    dense = pretrained('dense', args.student, args.dense_checkpoint)
    ratios = {}
    for ratio in args.flops_ratios:
        ratio_dir = osp.join(seed_dir, f'tucker{ratio:g}')
        config = compress(args.student, dense['checkpoint'], ratio, osp.join(ratio_dir, 'compressed'), input_size,
                          cwd)
        load_from = Config.fromfile(config).load_from
        finetuned = train_and_test(f'tucker {ratio:g}: fine-tune', config, config, osp.join(ratio_dir, 'finetuned'),
                                   cwd, finetune_options, args.finetune_epochs, progress, resume=args.resume)
        check_student_loaded(osp.join(ratio_dir, 'finetuned', 'train.log'), load_from)
        kd_config = write_kd_config(config, args.kd, args.teacher)
        distilled = train_and_test(f'tucker {ratio:g}: distill', kd_config, config, osp.join(ratio_dir, 'distilled'),
                                   cwd, finetune_options + [f"model.teacher.checkpoint={teacher['checkpoint']}"],
                                   args.finetune_epochs, progress, export=True, resume=args.resume)
        kd_log = osp.join(ratio_dir, 'distilled', 'train.log')
        ratios[ratio] = dict(config=config, kd_config=kd_config, finetuned=finetuned, distilled=distilled,
                             kd_keys_not_loaded=check_student_loaded(kd_log, load_from),
                             teacher_in_kd_log=logged_teacher_metric(kd_log, args.metric))
        logged = ratios[ratio]['teacher_in_kd_log']
        if logged is not None and abs(logged - teacher[args.metric]) > 1e-3:
            print(f'[tucker_sweep] warning: {kd_log}: the teacher scored {args.metric} {logged:.4f} inside the '
                  f"distillation run but {teacher[args.metric]:.4f} in its own test: another pipeline, or the "
                  'teacher did not load', flush=True)
    return dict(teacher=teacher, dense=dense, ratios=ratios)


def percent(runs: Sequence[dict], metric: str) -> List[float]:
    """``run[metric]`` in percent per seed."""
    return [metric_percent(metric, run[metric]) for run in runs]


def summarize(args: argparse.Namespace, per_seed: Dict[int, dict], input_size: Tuple[int, int]) -> dict:
    """The JSON record: teacher, dense and per-ratio rows with costs, per-seed metrics (percent) and the paper's
    numbers."""
    import det_kd  # noqa: F401  (registers det_kd's models for model_cost)
    from mmdet.utils import register_all_modules
    register_all_modules()
    first = per_seed[args.seeds[0]]
    dense_cost = model_cost(args.student, input_size)
    rows = dict(
        teacher=dict(config=args.teacher, **model_cost(args.teacher, input_size),
                     metric=percent([per_seed[s]['teacher'] for s in args.seeds], args.metric)),
        dense=dict(config=args.student, **dense_cost, flops_ratio=1.0,
                   metric=percent([per_seed[s]['dense'] for s in args.seeds], args.metric)))
    rows['teacher'].update(paper=PAPER_TEACHER)
    rows['dense'].update(paper=PAPER_DENSE)
    rows['teacher']['flops_ratio'] = rows['teacher']['backbone_flops'] / dense_cost['backbone_flops']
    ratios = []
    for ratio in args.flops_ratios:
        runs = [per_seed[s]['ratios'][ratio] for s in args.seeds]
        config = first['ratios'][ratio]['config']
        cost = model_cost(config, input_size)
        finetuned = percent([run['finetuned'] for run in runs], args.metric)
        distilled = percent([run['distilled'] for run in runs], args.metric)
        ratios.append(
            dict(requested=ratio, flops_ratio=cost['backbone_flops'] / dense_cost['backbone_flops'], **cost,
                 tucker_ranks={k: list(v) for k, v in Config.fromfile(config).model.backbone.tucker_ranks.items()},
                 finetuned=finetuned, distilled=distilled, gain=[d - f for d, f in zip(distilled, finetuned)],
                 paper=dict(zip(('finetuned', 'distilled'), PAPER_TABLE3.get(ratio, (None, None)))),
                 kd_keys_not_loaded=[run['kd_keys_not_loaded'] for run in runs],
                 teacher_in_kd_log=[
                     None if run['teacher_in_kd_log'] is None else metric_percent(args.metric, run['teacher_in_kd_log'])
                     for run in runs]))
    return dict(metric=args.metric, input_size=list(input_size), **rows, ratios=ratios)


def signed_mean_std(values: Sequence[float]) -> str:
    """``'+1.2 ± 0.3'`` (mean ± std; the mean alone for one value)."""
    mean, std = mean_std(values)
    return f'{mean:+.1f} ± {std:.1f}' if len(values) > 1 else f'{mean:+.1f}'


def sweep_table(summary: dict) -> str:
    """Markdown: the teacher, the dense student and one row per ratio, beside the paper's Table 3."""
    metric = summary['metric']
    lines = [f'| model | backbone FLOPs vs dense (requested) | Tucker-2 ranks (in, out) | params (M) | {metric} '
             f'without KD (fine-tune only) | {metric} distilled | gain | paper without KD / distilled |',
             '|' + '---|' * 8]
    for key, name in (('teacher', 'teacher'), ('dense', 'dense student')):
        row = summary[key]
        cells = [f'{name}: {osp.basename(row["config"])[:-3]}', f'{row["flops_ratio"]:.1%}', '-',
                 f'{row["params"] / 1e6:.2f}', format_mean_std(row['metric']), '-', '-', f'{row["paper"]} / -']
        lines.append('| ' + ' | '.join(cells) + ' |')
    for row in summary['ratios']:
        paper = row['paper']
        ranks = ', '.join(f'{name} {tuple(ranks)}' for name, ranks in row['tucker_ranks'].items())
        cells = [f'Tucker {row["requested"]:g}', f'{row["flops_ratio"]:.1%} ({row["requested"]:.1%})', ranks,
                 f'{row["params"] / 1e6:.2f}', format_mean_std(row['finetuned']), format_mean_std(row['distilled']),
                 signed_mean_std(row['gain']),
                 '-' if paper['finetuned'] is None else f'{paper["finetuned"]} / {paper["distilled"]}']
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def run_tucker_sweep(args: argparse.Namespace) -> None:
    """Runs the sweep that ``tools/tucker_sweep.py``'s arguments ``args`` describe (paths absolute) and writes
    ``tucker_sweep.md`` and ``tucker_sweep.json`` into ``args.work_dir``."""
    start = time.time()
    input_size = (args.img_size[1], args.img_size[0])  # (H, W) for the FLOPs count
    check_reachable(args.student, args.flops_ratios, input_size)
    os.makedirs(args.work_dir, exist_ok=True)
    if args.data_ready:
        cwd = os.getcwd()
    else:
        cwd = args.work_dir
        print(f'[tucker_sweep] generating {args.num_train} + {args.num_val} synthetic images in '
              f'{cwd}/data/synthetic')
        generate_dataset(osp.join(cwd, 'data', 'synthetic'), num_train=args.num_train, num_val=args.num_val,
                         img_size=tuple(args.img_size), seed=0, formats=('coco', ), progress=not args.no_progress)
    per_seed = {seed: sweep_seed(args, seed, cwd, input_size) for seed in args.seeds}
    summary = summarize(args, per_seed, input_size)
    table = sweep_table(summary)
    minutes = (time.time() - start) / 60
    header = (f'# Tucker compression sweep (paper Table 3)\n\nDense student `{args.student}`, teacher '
              f'`{args.teacher}`, seeds {args.seeds}, {args.epochs} epochs (teacher, dense) and {args.finetune_epochs}'
              f' epochs (fine-tuned, distilled, both from the decomposed weights); {minutes:.1f} minutes. Backbone '
              f'FLOPs: conv multiply-adds at {input_size[0]}x{input_size[1]} relative to the dense student. '
              f'{summary["metric"]} in percent (mean ± std over seeds); gain = distilled - fine-tuned per seed. '
              'Paper: full-width AlexNet on PASCAL VOC07, VGG16 teacher.\n\n')
    with open(osp.join(args.work_dir, 'tucker_sweep.md'), 'w') as f:
        f.write(header + table + '\n')
    per_seed_json = {seed: {'teacher': runs['teacher'], 'dense': runs['dense'],
                            'ratios': {f'{ratio:g}': run for ratio, run in runs['ratios'].items()}}
                     for seed, runs in per_seed.items()}
    with open(osp.join(args.work_dir, 'tucker_sweep.json'), 'w') as f:
        json.dump(dict(args=vars(args), minutes=minutes, **summary, per_seed=per_seed_json), f, indent=2)
    print('\n' + table)
    print(f'\n[tucker_sweep] done in {minutes:.1f} minutes: {args.work_dir}/tucker_sweep.md, tucker_sweep.json, '
          'logs under seed*/')
