"""Latency, FLOPs and parameters of several detectors, measured side by side in one run.

    python tools/benchmark.py CONFIG [CONFIG ...] --input-size H W [--checkpoint CKPT|none ...]
        [--warmup 3] [--runs 10] [--threads N] [--device cpu|cuda] [--fp16] [--reference NAME_OR_CONFIG]
        [--out-dir benchmarks/results] [--name latency] [--cfg-options KEY=VALUE ...]

For every config (random weights unless a checkpoint is given):

- parameters of the detector and of its backbone;
- FLOPs of ``forward(..., mode='tensor')`` and of the backbone with mmengine's
  ``get_model_complexity_info`` (one fused multiply-add = one FLOP, i.e. MACs; a two-stage detector's
  count includes the RoI head on the RPN's test-time proposals, whose number is reported);
- latency at batch 1 of ``model.test_step`` (data preprocessor, forward, post-processing and NMS; no data
  loading) on one rendered synthetic ``H x W`` scene: ``--warmup`` untimed rounds, then ``--runs`` timed
  rounds in which the models run in turn (round-robin), CUDA synchronised before each timestamp;
  with ``--fp16`` under fp16 autocast (mmengine's ``test_cfg=dict(fp16=True)``; CUDA only). Median,
  90th percentile and mean FPS (``runs / total time``) are reported, and each model's speed-up over the
  reference (the first config unless ``--reference``) from the same run.

On CPU, ``RoIPool`` layers (no CPU kernel in mmcv) are replaced by ``RoIAlign`` in max mode with the same
output size; the table says which models were changed. Results go to ``<out-dir>/<name>.json`` and
``.md`` together with the command, the machine and its load average before and after.
"""
import argparse
import os.path as osp
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.config import DictAction
from mmengine.logging import MMLogger
from torch import nn

from mmdet.utils import register_all_modules

from det_kd.benchmark.complexity import detector_complexity
from det_kd.benchmark.environment import describe_machine, load_average, machine_info
from det_kd.benchmark.latency import (LatencySummary, measure_latency, precision_context, speedups,
                                     synthetic_test_batch)
from det_kd.benchmark.models import build_detector, config_name, load_config, replace_roi_pool
from det_kd.benchmark.report import (billions, command_line, join_lines, load_average_line, markdown_table,
                                     millions, write_results)

NO_CHECKPOINT = 'none'
FP16_NOTE = " and `torch.autocast('cuda', dtype=torch.float16)` (mmengine's `test_cfg=dict(fp16=True)`)"


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+', metavar='CONFIG', help='detector config files')
    parser.add_argument(
        '--checkpoint',
        nargs='+',
        metavar='CKPT',
        help=f'one per config, `{NO_CHECKPOINT}` for random weights (default: all random)')
    parser.add_argument(
        '--input-size', type=int, nargs=2, required=True, metavar=('H', 'W'), help='image height and width')
    parser.add_argument('--warmup', type=int, default=3, help='untimed rounds (default: 3)')
    parser.add_argument('--runs', type=int, default=10, help='timed rounds (default: 10)')
    parser.add_argument('--threads', type=int, help='torch intra-op threads (default: torch\'s own)')
    parser.add_argument('--device', default='cpu', help='cpu, cuda or cuda:N (default: cpu)')
    parser.add_argument(
        '--fp16',
        action='store_true',
        help='run the models under fp16 autocast, as mmengine\'s test_cfg fp16=True (CUDA only)')
    parser.add_argument(
        '--reference',
        help='model name (config file name) or config the speed-ups are '
        'relative to (default: the first config)')
    parser.add_argument('--out-dir', help='write <name>.json and <name>.md here (default: print only)')
    parser.add_argument('--name', default='latency', help='result file name stem (default: latency)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='overrides applied to every config, as in tools/train.py')
    return parser.parse_args(argv)


def resolve_checkpoints(configs: Sequence[str], checkpoints: Optional[Sequence[str]]) -> List[Optional[str]]:
    """One checkpoint (or None) per config.

    Raises:
        ValueError: If checkpoints are given but not one per config.
    """
    if not checkpoints:
        return [None] * len(configs)
    if len(checkpoints) != len(configs):
        raise ValueError(
            f'--checkpoint: got {len(checkpoints)} for {len(configs)} configs; give one per config '
            f'(`{NO_CHECKPOINT}` for random weights)')
    return [None if ckpt.lower() == NO_CHECKPOINT else ckpt for ckpt in checkpoints]


def unique_names(configs: Sequence[str]) -> List[str]:
    """Config file names, with ``#2``, ``#3``... appended to repeats."""
    names: List[str] = []
    for config in configs:
        name = config_name(config)
        count = sum(1 for other in names if other == name or other.startswith(name + '#'))
        names.append(name if count == 0 else f'{name}#{count + 1}')
    return names


def resolve_reference(reference: Optional[str], configs: Sequence[str], names: Sequence[str]) -> str:
    """The reference model's name from ``--reference`` (a name or a config path).

    Raises:
        KeyError: If it names none of the measured models.
    """
    if reference is None:
        return names[0]
    for config, name in zip(configs, names):
        if reference in (name, config) or osp.abspath(reference) == osp.abspath(config):
            return name
    raise KeyError(f'--reference {reference!r} is none of the measured models {list(names)}')


def build_models(args: argparse.Namespace, names: Sequence[str]) -> Dict[str, dict]:
    """Name -> ``{'model', 'config', 'checkpoint', 'roi_pool_replaced'}`` for every config."""
    entries = {}
    checkpoints = resolve_checkpoints(args.configs, args.checkpoint)
    for name, config, checkpoint in zip(names, args.configs, checkpoints):
        cfg = load_config(config, args.cfg_options)
        replaced = replace_roi_pool(cfg.model) if torch.device(args.device).type == 'cpu' else 0
        model = build_detector(cfg.model, checkpoint, args.device, config)
        entries[name] = dict(
            model=model, config=config, checkpoint=checkpoint, roi_pool_replaced=replaced > 0)
    return entries


def model_rows(entries: Dict[str, dict], complexity: Dict[str, dict], summaries: Dict[str, LatencySummary],
               ratios: Dict[str, dict], times: Dict[str, List[float]]) -> List[dict]:
    """One JSON row per model."""
    return [
        dict(
            name=name,
            config=entry['config'],
            checkpoint=entry['checkpoint'],
            roi_pool_replaced=entry['roi_pool_replaced'],
            **complexity[name],
            latency=summaries[name].to_dict(),
            speedup=ratios[name],
            times_ms=[round(1e3 * t, 3) for t in times[name]]) for name, entry in entries.items()
    ]


def table_row(row: dict) -> List[str]:
    """The markdown cells of one model row (``*`` marks a replaced ``RoIPool``)."""
    latency, speedup = row['latency'], row['speedup']
    return [
        row['name'] + (' *' if row['roi_pool_replaced'] else ''),
        millions(row['params']),
        millions(row['backbone_params']),
        billions(row['flops']),
        billions(row['backbone_flops']),
        '-' if row['num_rois'] is None else str(row['num_rois']),
        f"{latency['median_ms']:.1f}",
        f"{latency['p90_ms']:.1f}",
        f"{latency['fps']:.2f}",
        f"{speedup['median_ratio']:.2f}x / {speedup['paired_ratio']:.2f}x",
    ]


def render_markdown(results: dict) -> str:
    """The markdown report of a results dict."""
    settings = results['settings']
    ref = settings['reference']
    rows = [table_row(row) for row in results['models']]
    table = markdown_table([
        'model', 'params', 'backbone params', 'GFLOPs', 'backbone GFLOPs', 'RoIs', 'median ms', 'p90 ms',
        'mean FPS', f'speed-up vs {ref} (medians / paired)'
    ], rows, 'lrrrrrrrrr')
    height, width = settings['input_size']
    replaced = any(row['roi_pool_replaced'] for row in results['models'])
    return join_lines([
        f"# Latency, FLOPs and parameters ({height}x{width}, {results['machine']['device']})",
        f"Command: `{results['command']}`",
        f"Machine: {describe_machine(results['machine'])}.",
        load_average_line(results['load_average']['before'], results['load_average']['after']) +
        ' The machine was shared with other jobs: the timings are indicative; the ratios, measured in '
        'the same interleaved run, are the more reliable numbers.',
        f"Input: one rendered synthetic {height}x{width} scene, batch 1, {settings['weights']}. Latency: "
        '`model.test_step` (data preprocessor, forward, post-processing and NMS; no data loading) under '
        f"`torch.no_grad`{FP16_NOTE if settings.get('precision') == 'fp16' else ''}, {settings['warmup']} warm-up rounds then {settings['runs']} timed rounds, the "
        'models run in turn within each round; mean FPS = timed runs / total time. Speed-up: reference '
        'median / model median, and the median over rounds of the per-round ratio.',
        table,
        'FLOPs: mmengine `get_model_complexity_info` on `forward(mode=\'tensor\')` at the padded input '
        f"{settings['padded_input_shape']}; one fused multiply-add counts as one FLOP, so these are GMACs. "
        'The detector count includes the RoI head on the RPN\'s test-time proposals (column RoIs), so it '
        'depends on how many proposals survive NMS (random weights here).',
        '\\* `RoIPool` (no CPU kernel in mmcv) replaced by `RoIAlign(pool_mode=\'max\', aligned=False)` '
        'with the same output size.' if replaced else '',
    ])


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Entry point; returns the results dict."""
    args = parse_args(argv)
    register_all_modules(init_default_scope=True)
    MMLogger.get_instance('mmengine', log_level='WARNING')
    if args.threads:
        torch.set_num_threads(args.threads)
    precision = 'fp16' if args.fp16 else 'fp32'
    precision_context(args.device, precision)  # a bad setting fails before any model is built
    names = unique_names(args.configs)
    reference = resolve_reference(args.reference, args.configs, names)
    load_before = load_average()
    entries = build_models(args, names)
    batch = synthetic_test_batch(*args.input_size)
    complexity = {name: detector_complexity(entry['model'], batch) for name, entry in entries.items()}
    models: Dict[str, nn.Module] = {name: entry['model'] for name, entry in entries.items()}
    times = measure_latency(models, batch, args.warmup, args.runs, args.device, not args.no_progress, precision)
    summaries = {name: LatencySummary.from_times(values) for name, values in times.items()}
    results = dict(
        command=command_line(argv),
        machine=machine_info(args.device, precision),
        load_average=dict(before=load_before, after=load_average()),
        settings=dict(
            input_size=list(args.input_size),
            padded_input_shape=next(iter(complexity.values()))['input_shape'],
            batch_size=1,
            warmup=args.warmup,
            runs=args.runs,
            precision=precision,
            reference=reference,
            weights='checkpoints given' if args.checkpoint else 'random weights',
            timed_call='model.test_step (data preprocessor + forward + post-processing/NMS)',
            order='round-robin: each round runs every model once, in the order of the configs',
            synchronisation='torch.cuda.synchronize before each timestamp'
            if 'cuda' in args.device else 'none (CPU)',
            flops_unit='MACs: one fused multiply-add = one FLOP (mmengine get_model_complexity_info)'),
        models=model_rows(entries, complexity, summaries, speedups(times, reference), times))
    report = render_markdown(results)
    print(report)
    if args.out_dir:
        for path in write_results(args.out_dir, args.name, results, report):
            print(f'wrote {path}')
    return results


if __name__ == '__main__':
    main()
