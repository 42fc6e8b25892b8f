"""Are two training runs the same? Compares two run folders of one config (e.g. a distilled stage with the cached
teacher and with the live one, ``benchmarks/results/teacher_cache_demo_stage.md``): the largest absolute
difference of the checkpoints' weights, the logged loss values step by step, the test metrics, and each run's
training wall time (first line of its log to its last checkpoint) and seconds per iteration at some epochs.

    python benchmarks/compare_distilled_runs.py RUN_A RUN_B [--checkpoint student.pth] [--log train.log]

A run folder holds the checkpoint, ``train.log`` (or ``--log``, a path relative to it or absolute) and the
``tools/test.py`` results under ``test/``.
"""
import argparse
import datetime
import os.path as osp
import re

import torch

from det_kd.experiments.stages import latest_test_metrics

_STAMP = r'(\d+/\d+ \d+:\d+:\d+)'


def _time(stamp: str) -> datetime.datetime:
    return datetime.datetime.strptime(stamp, '%m/%d %H:%M:%S')


def log_summary(path: str, epochs=(1, 4, 12, 24)) -> dict:
    """Logged losses in order, wall seconds from the first log line to the last checkpoint saved, and the
    ``time`` of the last logged iteration of each of ``epochs``."""
    losses, first, last, per_iter = [], None, None, {}
    with open(path) as f:
        for line in f:
            stamp = re.match(_STAMP, line)
            if stamp and first is None:
                first = _time(stamp.group(1))
            if re.search(r'Saving checkpoint at \d+ epochs', line):
                last = _time(stamp.group(1))
            epoch = re.search(r'Epoch\(train\)\s*\[(\d+)\]\[\s*\d+/\d+\].*?time: ([0-9.]+)', line)
            if epoch:
                per_iter[int(epoch.group(1))] = float(epoch.group(2))
                losses.append(line.split('loss: ')[1].split()[0] if 'loss: ' in line else None)
    if first is None or last is None:
        raise ValueError(f'{path}: no timestamped log lines or no checkpoint saved')
    return dict(losses=losses, seconds=(last - first).total_seconds(),
                per_iter={e: per_iter[e] for e in epochs if e in per_iter})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('runs', nargs=2, metavar='RUN')
    parser.add_argument('--checkpoint', default='student.pth')
    parser.add_argument('--log', default='train.log')
    args = parser.parse_args()
    weights = []
    for run in args.runs:
        path = osp.join(run, args.checkpoint)
        if not osp.isfile(path):
            raise SystemExit(f'{path}: no such checkpoint')
        weights.append(torch.load(path, map_location='cpu', weights_only=True)['state_dict'])
    if set(weights[0]) != set(weights[1]):
        raise SystemExit(f'the checkpoints hold other keys: {sorted(set(weights[0]) ^ set(weights[1]))[:8]}')
    largest = max((weights[0][k].float() - weights[1][k].float()).abs().max().item() for k in weights[0])
    logs = []
    for run in args.runs:
        path = osp.join(run, args.log)
        if not osp.isfile(path):
            raise SystemExit(f'{path}: no such training log')
        logs.append(log_summary(path))
    same_losses = logs[0]['losses'] == logs[1]['losses']
    print(f'weights: {len(weights[0])} tensors, largest absolute difference {largest:g}')
    print(f"logged losses: {len(logs[0]['losses'])} and {len(logs[1]['losses'])} values, "
          f"{'identical' if same_losses else 'different'}")
    for run, log in zip(args.runs, logs):
        metrics = latest_test_metrics(osp.join(run, 'test'))
        shown = ', '.join(f'{k} {100 * metrics[k]:.2f}' for k in ('pascal_voc/mAP', 'coco/bbox_mAP') if k in metrics)
        print(f"{run}: training {log['seconds']:.0f} s; s/iteration at epochs {log['per_iter']}; {shown}")


if __name__ == '__main__':
    main()
