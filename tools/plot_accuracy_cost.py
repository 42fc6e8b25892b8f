"""Plots mAP against latency and against parameters for teachers, baselines and distilled students.

    python tools/plot_accuracy_cost.py BENCHMARK_JSON --entry NAME ROLE SOURCE [--entry ...]
        [--metric coco/bbox_mAP] [--title TEXT] --out accuracy_cost.png

``BENCHMARK_JSON`` is a results file of ``tools/benchmark.py`` (latency and parameters per model; NAME is
a model name in it, i.e. a config file name without ``.py``). ROLE is ``teacher``, ``baseline`` or
``distilled`` (each gets its own marker). SOURCE is an evaluated MMEngine work dir (the newest
``<timestamp>/vis_data/scalars.json`` or ``<timestamp>/<timestamp>.json`` with the metric is read) or a
metrics JSON file. A distilled student has its baseline's architecture, so it names the same model;
an arrow joins the two. Example (``M`` for ``faster-rcnn_``, ``S`` for ``_12e_synthetic-coco``)::

    python tools/plot_accuracy_cost.py benchmarks/results/latency_synthetic_240x320_cpu.json \\
        --entry ${M}vgg16-w0.25$S teacher work_dirs/${M}vgg16-w0.25$S \\
        --entry ${M}alexnet-w0.25$S baseline work_dirs/${M}alexnet-w0.25$S \\
        --entry ${M}alexnet-w0.25$S distilled work_dirs/kd_alexnet-w0.25-vgg16-w0.25$S \\
        --out accuracy_cost.png
"""
import argparse
from typing import Optional, Sequence

from det_kd.benchmark.plots import ROLES, load_benchmark, make_points, plot_accuracy_cost


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('benchmark', metavar='BENCHMARK_JSON', help='results JSON of tools/benchmark.py')
    parser.add_argument(
        '--entry',
        nargs=3,
        action='append',
        required=True,
        metavar=('NAME', 'ROLE', 'SOURCE'),
        help=f'a model name of BENCHMARK_JSON, its role ({", ".join(ROLES)}) and its work dir '
        'or metrics JSON; repeat for every point')
    parser.add_argument(
        '--metric', help='metric key (default: the first key like coco/bbox_mAP or '
        'pascal_voc/mAP)')
    parser.add_argument('--title', help='figure title (default: device and input size of the benchmark)')
    parser.add_argument('--out', required=True, help='the PNG file to write')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> str:
    """Entry point; returns the path of the PNG."""
    args = parse_args(argv)
    benchmark = load_benchmark(args.benchmark)
    points = make_points(benchmark, args.entry, args.metric)
    height, width = benchmark['settings']['input_size']
    title = args.title or f"latency: {benchmark['machine']['device']}, batch 1, {height}x{width}"
    path = plot_accuracy_cost(points, args.out, args.metric or 'mAP', title)
    print(f'wrote {path}')
    return path


if __name__ == '__main__':
    main()
