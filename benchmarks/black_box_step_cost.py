"""Training-step cost of a black-box teacher (``BlackBoxKDFasterRCNN``) against the plain student.

No teacher runs during training: what is left is matching the student's sampled RoIs with the teacher's
detections and the soft term. Runs interleaved ``train_step`` calls of the two detectors (same initial
weights, same optimizer settings) on one batch of rendered synthetic scenes passed through the black-box
config's train pipeline, whose results file holds, per image, its objects as the teacher's detections.

    OMP_NUM_THREADS=1 python benchmarks/black_box_step_cost.py --runs 30 \\
        --out benchmarks/results/black_box_step_cost_synthetic-w0.25_240x320_cpu.md
"""
import argparse
import copy
import json
import logging
import os.path as osp
import statistics
import tempfile

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper

from mmdet.registry import MODELS
from mmdet.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs', 'kd', 'blackbox_alexnet-w0.25-vgg16-w0.25_12e_synthetic-coco.py')


def results_for(batch: dict, classes, path: str) -> None:
    """A results file with each image's objects as detections (score 0.9, 0.9 on the class)."""
    from det_kd.models.distillation.teacher_results import write_teacher_results
    images, detections = [], []
    for index, sample in enumerate(batch['data_samples']):
        images.append(dict(id=index, file_name=osp.basename(sample.metainfo['img_path']),
                           width=sample.metainfo['ori_shape'][1], height=sample.metainfo['ori_shape'][0]))
        scale = torch.tensor(sample.metainfo['scale_factor']).repeat(2)
        for box, label in zip(sample.gt_instances.bboxes.tensor / scale, sample.gt_instances.labels.tolist()):
            probs = [0.1 / (len(classes) + 1)] * (len(classes) + 1)
            probs[label] += 0.9
            x1, y1, x2, y2 = box.tolist()
            detections.append(dict(image_id=index, bbox=[x1, y1, x2 - x1, y2 - y1], category_id=label + 1, score=0.9,
                                   class_probs=probs))
    write_teacher_results(path, classes, images, detections)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--runs', type=int, default=30)
    parser.add_argument('--out', help='markdown report (a .json beside it)')
    args = parser.parse_args()
    register_all_modules(init_default_scope=True)
    import det_kd  # noqa: F401
    from det_kd.benchmark.environment import describe_machine, load_average, machine_info
    from det_kd.benchmark.latency import LatencySummary, time_interleaved
    from det_kd.benchmark.training_cost import find_train_pipeline, synthetic_train_batch
    MMLogger.get_current_instance().setLevel(logging.ERROR)
    load_before = load_average()

    cfg = Config.fromfile(CONFIG)
    from det_kd.synthetic import SYNTHETIC_CLASSES as classes
    with tempfile.TemporaryDirectory() as folder:
        batch = synthetic_train_batch(find_train_pipeline(cfg), args.batch_size, 240, 320, folder)
        results = osp.join(folder, 'results.json')
        results_for(batch, classes, results)
        cfg.model.teacher.results = results
        plain_model = copy.deepcopy(cfg.model)
        for key in ('teacher', 'distill'):
            plain_model.pop(key)
        plain_model.type = 'FasterRCNN'
        torch.manual_seed(0)
        plain = MODELS.build(plain_model)
        plain.init_weights()
        black_box = MODELS.build(cfg.model)
        black_box.load_state_dict(plain.state_dict())
        plain.train(), black_box.train()
        optims = [build_optim_wrapper(m, copy.deepcopy(cfg.optim_wrapper)) for m in (plain, black_box)]
        times = time_interleaved(
            dict(student=lambda: plain.train_step(batch, optims[0]),
                 black_box=lambda: black_box.train_step(batch, optims[1])), args.warmup, args.runs, progress=False)
    summaries = {name: LatencySummary.from_times(values) for name, values in times.items()}
    ratio = summaries['black_box'].median_ms / summaries['student'].median_ms
    paired = statistics.median(b / s for b, s in zip(times['black_box'], times['student']))
    machine = machine_info('cpu')
    lines = [
        '# Step cost of a black-box teacher (BlackBoxKDFasterRCNN) against the plain student',
        f'Command: `OMP_NUM_THREADS={machine["omp_num_threads"]} python benchmarks/black_box_step_cost.py '
        f'--batch-size {args.batch_size} --warmup {args.warmup} --runs {args.runs} --out {args.out}`',
        f'Machine: {describe_machine(machine)}; load average before {load_before}, after {load_average()}.',
        f'Config `{osp.relpath(CONFIG, REPO)}` (AlexNet-w0.25), batch of {args.batch_size} synthetic 320x240 scenes '
        'through its train pipeline; the results file holds each image\'s objects as detections. '
        f'{args.warmup} warm-up and {args.runs} timed `train_step` pairs, interleaved.',
        '| model | median ms | p90 ms | mean ms |', '|---|---:|---:|---:|',
        *[f'| {name} | {s.median_ms:.1f} | {s.p90_ms:.1f} | {s.mean_ms:.1f} |' for name, s in summaries.items()],
        f'**black-box / plain = {ratio:.3f}** on the medians (target <= 1.05), {paired:.3f} as the median of the '
        'per-pair ratios.',
    ]
    report = '\n\n'.join(lines) + '\n'
    print(report)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(report)
        with open(osp.splitext(args.out)[0] + '.json', 'w') as f:
            json.dump(dict(machine=machine, summaries={k: v.to_dict() for k, v in summaries.items()}, ratio=ratio,
                           paired_ratio=paired, times_ms={k: [1e3 * t for t in v] for k, v in times.items()}), f,
                      indent=1)


if __name__ == '__main__':
    main()
