"""Parameters, FLOPs and CPU latency of the paper's four detectors (VGG16, VGG-M, AlexNet, Tucker-AlexNet).

    python tools/model_table.py [--input-size 600 1000] [--warmup 1] [--runs 5] [--threads 1]
                                [--out benchmarks/results/model_table.md]

Every model is built at full width from its VOC07 config (21-way box head), with random weights (nothing is
downloaded), in eval mode. For the backbone alone and for the whole detector it reports

- parameters;
- FLOPs from mmengine's ``get_model_complexity_info`` (one multiply-add counts as one FLOP; the detector
  is counted as MMDetection's ``tools/analysis_tools/get_flops.py`` does: backbone, RPN, proposal
  selection and the box head on the RPN's test-time proposals, whose number is reported);
- CPU latency at batch 1 under ``torch.no_grad``: ``--warmup`` untimed runs, then the median wall and
  process CPU time of ``--runs`` timed runs of the backbone forward and of ``model.predict``
  (post-processing and NMS included),
  with ``--threads`` intra-op threads (default 1: on a machine shared with other jobs, a multi-threaded op
  waits for its slowest thread and small convolutions can take ten times longer).

mmcv's ``RoIPool`` has no CPU kernel, so on CPU the detectors run ``RoIAlign`` in max mode with the same
output size (``aligned=False``, adaptive sampling), the closest CPU op; its cost is small next to fc6.
The table is printed and written, with the command and a description of the machine, to ``--out``.
"""
import argparse
import os
import os.path as osp
import platform
import statistics
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import mmcv
import mmdet
import mmengine
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.utils import register_all_modules
from mmengine.analysis import get_model_complexity_info
from mmengine.config import Config
from torch import nn

import det_kd  # noqa: F401  (registers det_kd's modules)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# Model name -> (config, the paper's parameters / GPU ms per image).
PAPER_MODELS = {
    'VGG16': ('faster-rcnn_vgg16_1x_voc07.py', '138M / 283 ms'),
    'VGG-M': ('faster-rcnn_vggm_1x_voc07.py', '80M / 86 ms'),
    'AlexNet': ('faster-rcnn_alexnet_1x_voc07.py', '62M / 74 ms'),
    'Tucker-AlexNet': ('faster-rcnn_tucker-alexnet_1x_voc07.py', '11M / 47 ms'),
}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line arguments (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--input-size', type=int, nargs=2, default=(600, 1000), metavar=('H', 'W'),
                        help='image size (default: 600 1000, the paper\'s scale)')
    parser.add_argument('--warmup', type=int, default=1, help='untimed runs before timing (default: 1)')
    parser.add_argument('--runs', type=int, default=5, help='timed runs, the median is reported (default: 5)')
    parser.add_argument('--threads', type=int, default=1, help='torch intra-op threads (default: 1)')
    parser.add_argument('--models', nargs='+', default=list(PAPER_MODELS), choices=list(PAPER_MODELS),
                        help='models to measure (default: all four)')
    parser.add_argument('--out', default=osp.join(REPO, 'benchmarks', 'results', 'model_table.md'),
                        help='markdown file to write (default: benchmarks/results/model_table.md)')
    return parser.parse_args(argv)


def build_cpu_detector(config: str) -> nn.Module:
    """The detector of ``config`` in eval mode, with ``RoIPool`` replaced by CPU-capable max ``RoIAlign``."""
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'faster_rcnn', config))
    roi_layer = cfg.model.roi_head.bbox_roi_extractor.roi_layer
    if roi_layer.type == 'RoIPool':
        cfg.model.roi_head.bbox_roi_extractor.roi_layer = dict(
            type='RoIAlign',
            output_size=roi_layer.output_size,
            sampling_ratio=0,
            pool_mode='max',
            aligned=False)
    return MODELS.build(cfg.model).eval()


def image_sample(height: int, width: int) -> DetDataSample:
    """A data sample with the metainfo of one unscaled, unpadded ``height x width`` image."""
    return DetDataSample(
        metainfo=dict(
            img_shape=(height, width),
            ori_shape=(height, width),
            pad_shape=(height, width),
            batch_input_shape=(height, width),
            scale_factor=(1.0, 1.0)))


def median_ms(fn: Callable[[], object], warmup: int, runs: int) -> Tuple[float, float]:
    """Median wall and process CPU time of ``fn()`` in ms over ``runs`` calls after ``warmup`` untimed ones.

    The process CPU time (``time.process_time``, all threads) leaves out the time the process waits for a
    core, so with one thread it is the latency of an otherwise idle machine.
    """
    wall, cpu = [], []
    with torch.no_grad():
        for i in range(warmup + runs):
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            fn()
            if i >= warmup:
                wall.append(time.perf_counter() - start_wall)
                cpu.append(time.process_time() - start_cpu)
    return 1e3 * statistics.median(wall), 1e3 * statistics.median(cpu)


def flops(model: nn.Module, image: torch.Tensor) -> int:
    """FLOPs (multiply-adds) of ``model(image)`` counted by mmengine."""
    with torch.no_grad():
        return get_model_complexity_info(model, inputs=(image, ), show_table=False, show_arch=False)['flops']


def measure(name: str, config: str, input_size: Sequence[int], warmup: int, runs: int) -> Dict[str, object]:
    """One row of the table for the model ``name`` built from ``config``."""
    torch.manual_seed(0)
    model = build_cpu_detector(config)
    image = torch.randn(1, 3, *input_size)
    samples = [image_sample(*input_size)]
    num_rois = []
    hook = model.roi_head.bbox_roi_extractor.register_forward_pre_hook(
        lambda module, args: num_rois.append(int(args[1].shape[0])))
    forward = model.forward
    model.forward = lambda inputs: forward(inputs, samples, mode='tensor')
    detector_flops = flops(model, image)
    model.forward = forward
    hook.remove()
    return dict(
        name=name,
        config=config,
        backbone_params=sum(p.numel() for p in model.backbone.parameters()),
        detector_params=sum(p.numel() for p in model.parameters()),
        backbone_flops=flops(model.backbone, image),
        detector_flops=detector_flops,
        num_rois=num_rois[0],
        backbone_ms=median_ms(lambda: model.backbone(image), warmup, runs),
        detector_ms=median_ms(lambda: model.predict(image, samples), warmup, runs))


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or ``platform.processor()``."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def machine_description() -> str:
    """One line: cores, CPU, threads and library versions."""
    return (f'{os.cpu_count()} CPU cores (nproc), {cpu_model()}, torch {torch.__version__} '
            f'(intra-op threads: {torch.get_num_threads()}), mmcv {mmcv.__version__}, '
            f'mmdet {mmdet.__version__}, mmengine {mmengine.__version__}, '
            f'Python {platform.python_version()}, {platform.system()}')


def render_table(rows: List[Dict[str, object]]) -> str:
    """The markdown table of :func:`measure` rows."""
    lines = [
        '| model | backbone params | detector params | backbone GFLOPs | detector GFLOPs (RoIs) | '
        'backbone ms, wall / CPU | detector ms, wall / CPU | paper: params / GPU ms |',
        '|---|---:|---:|---:|---:|---:|---:|---|',
    ]
    for row in rows:
        lines.append(f'| {row["name"]} | {row["backbone_params"] / 1e6:.2f}M '
                     f'| {row["detector_params"] / 1e6:.2f}M | {row["backbone_flops"] / 1e9:.1f} '
                     f'| {row["detector_flops"] / 1e9:.1f} ({row["num_rois"]}) '
                     f'| {row["backbone_ms"][0]:.0f} / {row["backbone_ms"][1]:.0f} '
                     f'| {row["detector_ms"][0]:.0f} / {row["detector_ms"][1]:.0f} '
                     f'| {PAPER_MODELS[row["name"]][1]} |')
    return '\n'.join(lines)


def render_markdown(rows: List[Dict[str, object]], args: argparse.Namespace, command: str, load: str) -> str:
    """The whole markdown report (``load``: the load average before the run)."""
    height, width = args.input_size
    configs = ', '.join(f'`configs/faster_rcnn/{row["config"]}`' for row in rows)
    return (f'# Paper models: parameters, FLOPs and CPU latency\n\n'
            f'Command: `{command}`\n\n'
            f'Machine: {machine_description()}; load average before the run: {load}.\n\n'
            f'Input: one {height}x{width} image (batch 1), random weights, eval mode, `torch.no_grad`. '
            f'Latency: median of {args.runs} timed runs after {args.warmup} warm-up run(s) of the backbone '
            'forward and of the whole detector\'s `model.predict` (RPN, RoI head, post-processing and NMS '
            'included), as wall time and as process CPU time (`time.process_time`). The machine is shared '
            'with other jobs: wall times include waiting for a core, CPU times do not, and with one '
            'intra-op thread (`--threads 1`, the default; with several, an op waits for its slowest '
            'thread) the CPU time is the latency on an idle core.\n\n'
            f'{render_table(rows)}\n\n'
            'FLOPs: mmengine `get_model_complexity_info`, one multiply-add = one FLOP, operators without a '
            'FLOP formula (RoI pooling, NMS, LRN, max pooling, ReLU) not counted; the detector count '
            'follows MMDetection\'s `get_flops.py` (backbone, RPN and the box head on the RoIs in brackets: '
            'the RPN\'s test-time proposals, at most 300). Models: ' + configs + ' (VOC07, 21-way head). '
            'Box heads: VGG16 and AlexNet fc6/fc7 4096, VGG-M and Tucker-AlexNet 1024. mmcv\'s `RoIPool` '
            'has no CPU kernel: on CPU the detectors run `RoIAlign` in max mode with the same output size. '
            'The paper column is the paper\'s Table of models (ImageNet-classifier parameter counts, '
            'GPU time per image).\n')


def main(argv: Optional[List[str]] = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    register_all_modules()
    command = ' '.join(['python', osp.relpath(osp.abspath(__file__), REPO), *(sys.argv[1:] if argv is None
                                                                               else argv)])
    load = ', '.join(f'{x:.1f}' for x in os.getloadavg())
    rows = []
    for name in args.models:
        rows.append(measure(name, PAPER_MODELS[name][0], args.input_size, args.warmup, args.runs))
        print(f'{name}: done', flush=True)
    report = render_markdown(rows, args, command, load)
    print(report)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        f.write(report)


if __name__ == '__main__':
    main()
