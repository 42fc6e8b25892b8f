"""Wall time of the full KITTI 2D evaluation on a synthetic, KITTI-sized dataset.

Generates (seeded) 4,000 images with about 10 GT boxes (Car, Pedestrian,
Cyclist, plus Van and DontCare) and 20 detections each, then times only the
``kitti_eval_2d`` call (3 classes x 3 difficulties, R11 and R40).

Usage:
    python benchmarks/kitti_eval_speed.py [--images 4000] [--repeat 3] [--seed 0] [--out FILE.md]
"""
import argparse
import importlib.util
import os
import os.path as osp
import platform
import sys
import time
from typing import Dict, List, Tuple

import numpy as np

if importlib.util.find_spec('det_kd') is None:  # run from a checkout without installing
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from det_kd.evaluation.functional import format_kitti_table, kitti_eval_2d  # noqa: E402

GT_CLASSES = np.array(['Car', 'Pedestrian', 'Cyclist', 'Van', 'DontCare'])
GT_PROBS = np.array([0.55, 0.17, 0.08, 0.10, 0.10])
DET_CLASSES = np.array(['Car', 'Pedestrian', 'Cyclist', 'Van'])
IMAGE_W, IMAGE_H = 1242.0, 375.0


def random_boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Boxes with heights roughly log-uniform in [15, 250] px and KITTI-like aspect."""
    h = np.exp(rng.uniform(np.log(15), np.log(250), n))
    w = h * rng.uniform(0.4, 2.5, n)
    x1 = rng.uniform(0, IMAGE_W - 20, n)
    y1 = rng.uniform(100, IMAGE_H - 10, n) - h / 2
    return np.stack([x1, y1, np.minimum(x1 + w, IMAGE_W), y1 + h], axis=1)


def random_gt(rng: np.random.Generator) -> Dict[str, np.ndarray]:
    """One image of ground truth (7 to 13 objects)."""
    n = int(rng.integers(7, 14))
    names = rng.choice(GT_CLASSES, n, p=GT_PROBS)
    dontcare = names == 'DontCare'
    return dict(name=names, bbox=random_boxes(rng, n),
                truncated=np.where(dontcare, -1.0, rng.choice([0.0, 0.0, 0.0, 0.1, 0.2, 0.4, 0.6], n)),
                occluded=np.where(dontcare, -1, rng.choice([0, 0, 1, 1, 2, 3], n)))


def random_dets(rng: np.random.Generator, gt: Dict[str, np.ndarray],
                n_det: int = 20) -> Dict[str, np.ndarray]:
    """One image of detections: jittered GT copies (mostly the right class) plus false positives."""
    objects = np.flatnonzero(gt['name'] != 'DontCare')
    hits = objects[rng.random(len(objects)) < 0.85]
    hits = np.concatenate([hits, rng.choice(hits, min(len(hits), 3))]) if len(hits) else hits  # duplicates
    hits = hits[:n_det]
    boxes = gt['bbox'][hits]
    size = np.stack([boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]] * 2, axis=1)
    boxes = boxes + rng.normal(0, 0.06, boxes.shape) * size
    names = np.where(rng.random(len(hits)) < 0.9, gt['name'][hits], rng.choice(DET_CLASSES, len(hits)))
    n_fp = n_det - len(hits)
    boxes = np.concatenate([boxes, random_boxes(rng, n_fp)])
    names = np.concatenate([names, rng.choice(DET_CLASSES, n_fp, p=[0.6, 0.2, 0.1, 0.1])])
    scores = np.concatenate([rng.beta(5, 2, len(hits)), rng.beta(2, 5, n_fp)]).round(4)
    order = rng.permutation(n_det)
    return dict(name=names[order], bbox=boxes[order], score=scores[order])


def make_dataset(n_images: int, seed: int) -> Tuple[List[dict], List[dict]]:
    """Seeded synthetic dataset: (gt_annos, dt_annos)."""
    rng = np.random.default_rng(seed)
    gts = [random_gt(rng) for _ in range(n_images)]
    return gts, [random_dets(rng, gt) for gt in gts]


def machine_info() -> Dict[str, str]:
    """CPU count, CPU model, Python and numpy versions."""
    model = 'unknown'
    if osp.exists('/proc/cpuinfo'):
        with open('/proc/cpuinfo') as f:
            names = [line.split(':', 1)[1].strip() for line in f if line.startswith('model name')]
        model = names[0] if names else model
    cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    return {'nproc': str(cores), 'cpu': model, 'python': platform.python_version(), 'numpy': np.__version__}


def report(args: argparse.Namespace, times: List[float], table: str, n_gt: int, n_det: int) -> str:
    """Markdown report of one benchmark run."""
    info = machine_info()
    inside = osp.abspath(sys.executable).startswith(os.getcwd() + os.sep)
    python = osp.relpath(sys.executable) if inside else osp.basename(sys.executable)
    command = ' '.join([python, osp.relpath(__file__)] + sys.argv[1:])
    lines = [
        '# KITTI 2D evaluation speed', '',
        f'Command (from the repository root): `{command}`', '',
        f'Machine: nproc = {info["nproc"]}, CPU = {info["cpu"]}, Python {info["python"]}, '
        f'numpy {info["numpy"]}', '',
        f'Data: {args.images} synthetic images (seed {args.seed}), {n_gt} GT objects '
        f'(Car/Pedestrian/Cyclist/Van/DontCare), {n_det} detections.', '',
        'Timed: one `kitti_eval_2d` call (Car, Pedestrian, Cyclist x easy/moderate/hard, R11 + R40); '
        'data generation excluded.', '',
        '| run | wall time (s) |', '|---|---|',
        *[f'| {i + 1} | {t:.3f} |' for i, t in enumerate(times)],
        '', f'Best {min(times):.3f} s, median {float(np.median(times)):.3f} s (target: < 10 s).', '',
        'AP (%) of this synthetic dataset:', '', '```', table, '```', '']
    return '\n'.join(lines)


def main() -> None:
    """Generates the data, times the evaluation and prints (optionally writes) the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--images', type=int, default=4000, help='number of images')
    parser.add_argument('--repeat', type=int, default=3, help='timed evaluation runs')
    parser.add_argument('--seed', type=int, default=0, help='random seed of the data')
    parser.add_argument('--out', help='also write the markdown report to this file')
    args = parser.parse_args()
    gts, dts = make_dataset(args.images, args.seed)
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = kitti_eval_2d(gts, dts)
        times.append(time.perf_counter() - start)
        print(f'kitti_eval_2d: {times[-1]:.3f} s')
    text = report(args, times, format_kitti_table(result), sum(len(g['name']) for g in gts),
                  sum(len(d['name']) for d in dts))
    print(text)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            f.write(text)


if __name__ == '__main__':
    main()
