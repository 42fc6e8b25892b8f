"""Training cost of distillation: student step, teacher forward and distillation step, side by side.

    python tools/benchmark_training.py KD_CONFIG [--student-config CFG] [--teacher-config CFG]
        [--random-teacher] [--input-size H W] [--batch-size N] [--warmup 3] [--runs 20] [--profile-runs 5]
        [--threads N] [--device cpu|cuda] [--amp] [--target 1.10] [--out-dir benchmarks/results] [--name NAME]
        [--cfg-options KEY=VALUE ...]

In one run, on one fixed batch, each iteration times in turn

(a) the plain student's ``train_step`` (preprocessor, forward, losses, backward, optimizer step),
(b) the teacher kind's ``forward`` (no_grad: teacher features, RPN maps, RoI head on the RoIs a student
    step sampled),
(c) the distillation detector's ``train_step``,

then measures each call's peak memory in one more, untimed iteration (CUDA: max allocated; CPU: peak
resident set size above the start of the call). It reports ``(c) / ((a) + (b))`` on the medians (the
target is ``--target``), on the means and per iteration, and, with ``--profile-runs``, the time of the
pieces of each step and where ``(c) - (a) - (b)`` goes.

The batch: ``--batch-size`` synthetic scenes rendered at ``--input-size`` (default: the train pipeline's
``Resize`` scale), written as PNG files to a temporary folder and run through the distillation config's
real train pipeline (every ``Resize`` set to ``--input-size``), then collated. Both models use the config's
``optim_wrapper`` and start from the same student weights (the student's ``init_weights()``).
``--student-config`` / ``--teacher-config`` swap in other detectors (e.g. the full-width paper models) while
keeping the config's distillation settings. ``--random-teacher`` skips the teacher checkpoint
(speed does not depend on weights). On CPU, ``RoIPool`` becomes max ``RoIAlign``. ``--amp`` trains in
mixed precision as ``tools/train.py --amp`` (``AmpOptimWrapper``; the teacher forward (b) runs in the same
fp16 autocast as inside (c)).
"""
import argparse
import os
import os.path as osp
import tempfile
from typing import Dict, Optional, Sequence

import torch
from mmengine.config import DictAction
from mmengine.logging import MMLogger

from mmdet.utils import register_all_modules

from det_kd.benchmark.environment import describe_machine, load_average, machine_info
from det_kd.benchmark.models import config_name, load_config
from det_kd.benchmark.report import command_line, join_lines, load_average_line, markdown_table, write_results
from det_kd.benchmark.training_cost import (CACHED_STEPS, STEPS, build_training_setup, find_train_pipeline,
                                            measure_training_cost, overhead_breakdown, set_train_input_size,
                                            step_breakdown, synthetic_train_batch, train_input_size)

STEP_LABELS = {
    'student_step': '(a) student train step',
    'teacher_forward': '(b) teacher forward (no grad)',
    'distillation_step': '(c) distillation train step',
    'cached_teacher_forward': "(b') cached teacher forward (RoI head only)",
    'cached_distillation_step': "(c') distillation train step, cached teacher",
}
#: How the peak memory column was measured, by PeakMemoryMeter.method.
MEMORY_METHODS = {
    'cuda_max_memory_allocated': 'torch.cuda.max_memory_allocated during the call minus memory_allocated '
    'before it (tensors only), in one more, untimed iteration after the timed ones',
    'cpu_peak_rss_vmhwm': 'peak resident set size of the process during the call (Linux VmHWM, reset through '
    '/proc/self/clear_refs after malloc_trim) minus the RSS before it, in one more, untimed iteration after '
    'the timed ones; it counts all memory the process touches, an upper bound on the tensors\' own peak',
    'unavailable': 'not measured on this platform',
}


def use_amp(cfg, device: str) -> None:
    """Switches ``cfg.optim_wrapper`` to mixed precision as ``tools/train.py --amp`` does.

    Raises:
        ValueError: If ``device`` is not a CUDA device (mmengine's ``AmpOptimWrapper`` needs one).
    """
    if torch.device(device).type != 'cuda':
        raise ValueError(f'--amp needs a CUDA device, got --device {device}')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 'dynamic'


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', metavar='KD_CONFIG', help='a KDFasterRCNN distillation config')
    parser.add_argument(
        '--student-config',
        help='plain detector config replacing the student (default: the '
        'distillation config\'s own student)')
    parser.add_argument('--teacher-config', help='replaces model.teacher.config')
    parser.add_argument(
        '--random-teacher',
        action='store_true',
        help='randomly initialised teacher instead of model.teacher.checkpoint')
    parser.add_argument(
        '--input-size',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='training image size (default: the train pipeline\'s Resize scale)')
    parser.add_argument(
        '--batch-size', type=int, help='images per batch (default: train_dataloader.batch_size)')
    parser.add_argument('--warmup', type=int, default=3, help='untimed iterations (default: 3)')
    parser.add_argument('--runs', type=int, default=20, help='timed iterations (default: 20)')
    parser.add_argument(
        '--profile-runs',
        type=int,
        default=5,
        help='iterations of the per-piece breakdown; 0 skips it (default: 5)')
    parser.add_argument('--threads', type=int, help='torch intra-op threads (default: torch\'s own)')
    parser.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N (default: cpu)')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='mixed precision as tools/train.py --amp: AmpOptimWrapper with a dynamic loss scale (CUDA only)')
    parser.add_argument('--target', type=float, default=1.10, help='target for (c)/((a)+(b)) (default: 1.10)')
    parser.add_argument('--cached', action='store_true',
                        help="also time (b') and (c'): the teacher forward and the distillation step with a "
                        'CachedTeacher of the same weights reading its cache (filled in the warm-up)')
    parser.add_argument('--cached-target', type=float, default=1.3,
                        help="goal for (c') / (a), the cached distillation step over the student's (default 1.3)")
    parser.add_argument('--cache-dtype', default='float32', choices=['float32', 'float16'])
    parser.add_argument('--seed', type=int, default=0, help='seed of the weights and scenes (default: 0)')
    parser.add_argument('--out-dir', help='write <name>.json and <name>.md here (default: print only)')
    parser.add_argument('--name', help='result file name stem (default: training_cost_<config name>)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='overrides of the distillation config, as in tools/train.py')
    return parser.parse_args(argv)


def display_path(config) -> str:
    """A config path relative to the working directory (inline dicts are shown as such)."""
    return osp.relpath(osp.normpath(config)) if isinstance(config, str) else 'inline config'


def _ms(value: float) -> str:
    return f'{value:.1f}'


def _mib(value: Optional[int]) -> str:
    return '-' if value is None else f'{value / 2**20:.0f}'


def step_table(results: dict) -> str:
    """Median / p90 / mean ms and peak memory of (a), (b), (c), and the (a) + (b) sum."""
    summaries, peaks = results['summaries'], results['peak_memory']
    rows = [[
        STEP_LABELS[step],
        _ms(summaries[step]['median_ms']),
        _ms(summaries[step]['p90_ms']),
        _ms(summaries[step]['mean_ms']),
        _mib(peaks.get(step))
    ] for step in (*STEPS, *CACHED_STEPS) if step in summaries]
    ideal = summaries['student_step']['median_ms'] + summaries['teacher_forward']['median_ms']
    rows.append(['(a) + (b)', _ms(ideal), '', '', ''])
    return markdown_table(['call', 'median ms', 'p90 ms', 'mean ms', 'peak memory MiB'], rows, 'lrrrr')


def breakdown_tables(breakdown: Dict[str, Dict[str, float]], overhead: Dict[str, float]) -> str:
    """The per-piece table of the three steps and the split of ``(c) - (a) - (b)``."""
    names = list(dict.fromkeys(name for step in STEPS for name in breakdown[step]))
    pieces = markdown_table(
        ['piece (ms per step, mean)'] + [STEP_LABELS[step][:3] for step in STEPS],
        [[name.replace('  ', '&nbsp;&nbsp;')] +
         [_ms(breakdown[step][name]) if name in breakdown[step] else '' for step in STEPS]
         for name in names], 'lrrr')
    split = markdown_table(['where (c) - (a) - (b) goes', 'ms per step'],
                           [[name, f'{value:+.1f}'] for name, value in overhead.items()], 'lr')
    return pieces + '\n\n' + split


def render_markdown(results: dict) -> str:
    """The markdown report of a results dict."""
    settings = results['settings']
    ratios, target = results['ratios'], settings['target']
    ratio = ratios['median']
    verdict = 'within' if ratio <= target else 'above'
    parts = [
        f"# Training cost of distillation: {settings['config_name']}",
        f"Command: `{results['command']}`",
        f"Machine: {describe_machine(results['machine'])}.",
        load_average_line(results['load_average']['before'], results['load_average']['after']) +
        ' The machine was shared with other jobs: absolute times are indicative; the ratio compares calls '
        'interleaved in the same run.',
        f"Models: student `{settings['student']}`, teacher `{settings['teacher']}` "
        f"({settings['teacher_weights']}), distillation settings of `{settings['config']}`. "
        f"Batch: {settings['batch']}. {settings['warmup']} warm-up and {settings['runs']} timed iterations, "
        '(a), (b), (c) in turn within each iteration. Peak memory: ' + settings['memory'] + '.',
        step_table(results),
        f"**(c) / ((a) + (b)) = {ratio:.3f}** on the medians (target <= {target:.2f}: {verdict}); "
        f"{ratios['mean']:.3f} on the means, {ratios['paired']:.3f} as the median of the per-iteration "
        f"ratios. The distillation step costs {ratios['kd_over_student']:.2f}x the student's (medians).",
    ]
    if 'cached_kd_over_student' in ratios:
        cached, goal = ratios['cached_kd_over_student'], settings['cached_target']
        cache = settings['cache']
        parts.append(
            f"**With the cached teacher ({cache['dtype']}): (c') / (a) = {cached:.2f}x** the student step on the "
            f"medians ({ratios['cached_kd_over_student_paired']:.2f}x per iteration; goal <= {goal:.2f}: "
            f"{'met' if cached <= goal else 'not met'}), against {ratios['kd_over_student']:.2f}x live. The "
            f"cache holds {cache['entries']} entries, {cache['bytes_per_image'] / 2**10:.0f} KiB per image and "
            'augmentation on disk (the feature maps the RoI head pools from, the hint maps, the RPN maps).')
    if results.get('breakdown'):
        parts += [
            f"Breakdown ({settings['profile_runs']} more interleaved iterations with every piece timed by a "
            'wrapper; indented pieces are inside the piece above):',
            breakdown_tables(results['breakdown'], results['overhead'])
        ]
    return join_lines(parts)


def cache_usage(cache_dir: str, dtype: str) -> dict:
    """Entries and bytes on disk of a cached teacher's cache folder."""
    entries = [osp.join(root, name) for root, _, names in os.walk(cache_dir) for name in names
               if name.endswith('.pt')]
    total = sum(osp.getsize(path) for path in entries)
    return dict(dtype=dtype, entries=len(entries), bytes=total, bytes_per_image=total / max(len(entries), 1))


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Entry point; returns the results dict."""
    args = parse_args(argv)
    register_all_modules(init_default_scope=True)
    MMLogger.get_instance('mmengine', log_level='WARNING')
    if args.threads:
        torch.set_num_threads(args.threads)
    load_before = load_average()
    kd_cfg = load_config(args.config, args.cfg_options)
    if args.amp:
        use_amp(kd_cfg, args.device)
    student_cfg = load_config(args.student_config) if args.student_config else None
    pipeline = find_train_pipeline(kd_cfg)
    height, width = args.input_size or train_input_size(pipeline)
    set_train_input_size(pipeline, height, width)
    batch_size = args.batch_size or kd_cfg.train_dataloader.batch_size
    with tempfile.TemporaryDirectory() as work:  # the images stay while the cached teacher keys entries by them
        batch = synthetic_train_batch(pipeline, batch_size, height, width, work, args.seed)
        setup = build_training_setup(kd_cfg, student_cfg, args.teacher_config, args.random_teacher, batch,
                                     args.device, args.seed, cache_dir=work if args.cached else None,
                                     cache_dtype=args.cache_dtype)
        measured = measure_training_cost(setup, args.warmup, args.runs, args.device, not args.no_progress)
        breakdown = step_breakdown(setup, args.profile_runs, args.device) if args.profile_runs > 0 else None
        cache = cache_usage(osp.join(work, 'cache'), args.cache_dtype) if args.cached else None
    padded = list(setup.request.inputs.shape)
    results = dict(
        command=command_line(argv),
        machine=machine_info(args.device, 'amp-fp16' if args.amp else 'fp32'),
        load_average=dict(before=load_before, after=load_average()),
        settings=dict(
            config=args.config,
            config_name=config_name(args.config),
            student=args.student_config or f'{args.config} (as FasterRCNN)',
            teacher=display_path(args.teacher_config or kd_cfg.model.teacher.config),
            teacher_weights='random weights' if args.random_teacher else f'checkpoint '
            f'{kd_cfg.model.teacher.get("checkpoint")}',
            batch=(f'{batch_size} synthetic scenes rendered at {height}x{width} through the config\'s train '
                   f'pipeline (Resize scale set to ({width}, {height})), padded batch {padded}'),
            input_size=[height, width],
            batch_size=batch_size,
            padded_batch_shape=padded,
            num_rois=None if setup.request.rois is None else int(setup.request.rois.shape[0]),
            warmup=args.warmup,
            runs=args.runs,
            profile_runs=args.profile_runs,
            target=args.target,
            cached_target=args.cached_target,
            cache=cache,
            memory=MEMORY_METHODS[measured['memory_method']]),
        summaries={
            name: summary.to_dict()
            for name, summary in measured['summaries'].items()
        },
        peak_memory=measured['peak_memory'],
        ratios=measured['ratios'],
        times_ms={
            name: [round(1e3 * t, 3) for t in values]
            for name, values in measured['times'].items()
        },
        breakdown=breakdown,
        overhead=overhead_breakdown(breakdown) if breakdown else None)
    report = render_markdown(results)
    print(report)
    if args.out_dir:
        name = args.name or f'training_cost_{config_name(args.config)}'
        for path in write_results(args.out_dir, name, results, report):
            print(f'wrote {path}')
    return results


if __name__ == '__main__':
    main()
