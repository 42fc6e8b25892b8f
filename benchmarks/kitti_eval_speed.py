"""Wall time of the full KITTI 2D evaluation on a synthetic, KITTI-sized dataset.

Generates (seeded) 4,000 images with about 10 GT boxes (Car, Pedestrian,
Cyclist, plus Van and DontCare) and 20 detections each, then

1. times the ``kitti_eval_2d`` call alone (3 classes x 3 difficulties, R11 and R40), in this process;
2. writes the images as KITTI label / result files and times, cold (a new interpreter each run, runs
   interleaved), the command line ``tools/eval_kitti.py`` against a straightforward pure-Python
   transcription of the devkit (file reading with ``str.split``, then ``tests/test_evaluation/kitti_reference.py``:
   loops over images, GTs, detections and thresholds), and checks that both give the same APs.

Usage:
    python benchmarks/kitti_eval_speed.py [--images 4000] [--repeat 3] [--cold-repeat 3] [--seed 0] [--out FILE.md]
"""
import argparse
import importlib.util
import json
import os
import os.path as osp
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Tuple

import numpy as np

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
if importlib.util.find_spec('det_kd_kitti') is None:  # run from a checkout without installing
    sys.path.insert(0, REPO)

from det_kd_kitti import format_kitti_table, kitti_eval_2d, write_kitti_result_file  # noqa: E402

CLASSES = ('Car', 'Pedestrian', 'Cyclist')

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


def write_kitti_files(root: str, gts: List[dict], dts: List[dict]) -> Tuple[str, str]:
    """Writes the images as ``label_2/<id>.txt`` (15 fields) and ``results/<id>.txt`` (16 fields) under
    ``root``; returns the two folders."""
    gt_dir, det_dir = osp.join(root, 'label_2'), osp.join(root, 'results')
    os.makedirs(gt_dir)
    for index, (gt, dt) in enumerate(zip(gts, dts)):
        name = f'{index:06d}.txt'
        with open(osp.join(gt_dir, name), 'w') as f:
            for cls, box, truncated, occluded in zip(gt['name'], gt['bbox'], gt['truncated'], gt['occluded']):
                f.write(f'{cls} {truncated:.2f} {occluded} -10 {box[0]:.2f} {box[1]:.2f} {box[2]:.2f} {box[3]:.2f} '
                        '-1 -1 -1 -1000 -1000 -1000 -10\n')
        write_kitti_result_file(osp.join(det_dir, name), dt['name'], dt['bbox'], dt['score'])
    return gt_dir, det_dir


def reference_from_files(gt_dir: str, det_dir: str, out_json: str) -> None:
    """The pure-Python transcription: reads the folders line by line and runs the loop reference of
    ``tests/test_evaluation/kitti_reference.py``; writes ``{cls: {'R11': {...}, 'R40': {...}}}`` to
    ``out_json``."""
    sys.path.insert(0, osp.join(REPO, 'tests', 'test_evaluation'))
    from kitti_reference import reference_eval

    def read(path: str, is_result: bool) -> dict:
        anno = dict(name=[], bbox=[], truncated=[], occluded=[], score=[])
        if not osp.exists(path):
            return anno
        with open(path) as f:
            for line in f:
                fields = line.split()
                if fields:
                    anno['name'].append(fields[0])
                    anno['truncated'].append(float(fields[1]))
                    anno['occluded'].append(int(float(fields[2])))
                    anno['bbox'].append([float(v) for v in fields[4:8]])
                    if is_result:
                        anno['score'].append(float(fields[15]))
        return anno

    ids = sorted(name[:-4] for name in os.listdir(gt_dir) if name.endswith('.txt'))
    gts = [read(osp.join(gt_dir, f'{i}.txt'), False) for i in ids]
    dts = [read(osp.join(det_dir, f'{i}.txt'), True) for i in ids]
    result = reference_eval(gts, dts, CLASSES)
    with open(out_json, 'w') as f:
        json.dump({cls: {m: result[cls][m] for m in ('R11', 'R40')} for cls in CLASSES}, f)


def time_cold(commands: Dict[str, List[str]], repeat: int) -> Dict[str, List[float]]:
    """Wall seconds of each command (a new process each run, the commands interleaved run by run)."""
    times = {name: [] for name in commands}
    for run in range(repeat):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - start)
            print(f'[cold {run + 1}/{repeat}] {name}: {times[name][-1]:.2f} s', flush=True)
    return times


def same_aps(cli_json: str, reference_json: str) -> float:
    """The largest absolute AP difference (points) between the two runs' JSON files, over the classes,
    R11 / R40 and the difficulties."""
    with open(cli_json) as f:
        cli = json.load(f)
    with open(reference_json) as f:
        reference = json.load(f)
    return max(abs(cli[cls][m][level] - reference[cls][m][level]) for cls in CLASSES for m in ('R11', 'R40')
               for level in ('easy', 'moderate', 'hard'))


def cold_comparison(gts: List[dict], dts: List[dict], repeat: int) -> dict:
    """Writes the files, times the CLI and the pure-Python transcription cold, and compares their APs."""
    with tempfile.TemporaryDirectory() as root:
        gt_dir, det_dir = write_kitti_files(root, gts, dts)
        cli_json, reference_json = osp.join(root, 'cli.json'), osp.join(root, 'reference.json')
        commands = {
            'tools/eval_kitti.py': [sys.executable, osp.join('tools', 'eval_kitti.py'), '--gt-dir', gt_dir,
                                    '--det-dir', det_dir, '--classes', *CLASSES, '--json', cli_json],
            'pure-Python transcription': [sys.executable, osp.relpath(__file__, REPO), '--reference-from-files',
                                          gt_dir, det_dir, reference_json],
        }
        times = time_cold(commands, repeat)
        return dict(times=times, max_ap_difference=same_aps(cli_json, reference_json))


def machine_info() -> Dict[str, str]:
    """CPU count, CPU model, Python and numpy versions."""
    model = 'unknown'
    if osp.exists('/proc/cpuinfo'):
        with open('/proc/cpuinfo') as f:
            names = [line.split(':', 1)[1].strip() for line in f if line.startswith('model name')]
        model = names[0] if names else model
    cores = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    return {'nproc': str(cores), 'cpu': model, 'python': platform.python_version(), 'numpy': np.__version__}


def cold_lines(cold: dict) -> List[str]:
    """Markdown lines of the cold comparison."""
    names = list(cold['times'])
    medians = {name: statistics.median(cold['times'][name]) for name in names}
    speedup = medians[names[1]] / medians[names[0]]
    return [
        '## Cold, from the files: the command line against a pure-Python transcription', '',
        'Each run is a new interpreter (imports, file reading and evaluation), the two commands interleaved run '
        'by run: `tools/eval_kitti.py --classes Car Pedestrian Cyclist` (numpy only: it imports neither torch, '
        'mmcv nor mmdet) and the loop-by-loop devkit transcription of `tests/test_evaluation/kitti_reference.py` '
        'with plain-Python file reading.', '',
        '| command | wall time per run (s) | median (s) |', '|---|---|---|',
        *[f'| {name} | {", ".join(f"{t:.2f}" for t in cold["times"][name])} | {medians[name]:.2f} |'
          for name in names],
        '', f'**Speed-up of the command line, cold: {speedup:.0f}x** (target: at least 10x). Largest AP '
        f'difference between the two: {cold["max_ap_difference"]:.1e} points.', '']


def report(args: argparse.Namespace, times: List[float], table: str, n_gt: int, n_det: int,
           cold: dict = None) -> str:
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
    if cold:
        lines += cold_lines(cold)
    load = os.getloadavg() if hasattr(os, 'getloadavg') else None
    if load:
        lines += [f'Load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}.', '']
    return '\n'.join(lines)


def main() -> None:
    """Generates the data, times the evaluation and prints (optionally writes) the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--images', type=int, default=4000, help='number of images')
    parser.add_argument('--repeat', type=int, default=3, help='timed evaluation runs')
    parser.add_argument('--seed', type=int, default=0, help='random seed of the data')
    parser.add_argument('--cold-repeat', type=int, default=3,
                        help='cold runs of the command line and of the pure-Python transcription (0: none)')
    parser.add_argument('--out', help='also write the markdown report to this file')
    parser.add_argument('--reference-from-files', nargs=3, metavar=('GT_DIR', 'DET_DIR', 'OUT_JSON'),
                        help=argparse.SUPPRESS)  # the transcription's own process (see cold_comparison)
    args = parser.parse_args()
    if args.reference_from_files:
        reference_from_files(*args.reference_from_files)
        return
    gts, dts = make_dataset(args.images, args.seed)
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = kitti_eval_2d(gts, dts)
        times.append(time.perf_counter() - start)
        print(f'kitti_eval_2d: {times[-1]:.3f} s')
    cold = cold_comparison(gts, dts, args.cold_repeat) if args.cold_repeat > 0 else None
    text = report(args, times, format_kitti_table(result), sum(len(g['name']) for g in gts),
                  sum(len(d['name']) for d in dts), cold)
    print(text)
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            f.write(text)


if __name__ == '__main__':
    main()
