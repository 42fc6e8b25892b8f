"""Does fitting the anchors to the data change the student's mAP? Issue #31's measurement of the demo's anchor
fit (det_kd/experiments/anchor_fit.py): the demo's plain student on a VOC folder at one input size, trained with
its config's anchors and with anchors fitted to the training boxes, on the same seeds; the paired gain (fitted
minus kept, VOC07 mAP@0.5 and COCO mAP) with its interval over seeds and the bootstrap over the test images.

    python benchmarks/anchor_fit_bench.py --voc-root ../shared/data/bccd --work-dir work_dirs/anchors_bccd
    python tools/make_synthetic_data.py --out work_dirs/large --num-train 200 --num-val 300 --formats voc \
        --min-object-size 100 --max-object-frac 0.95
    python benchmarks/anchor_fit_bench.py --voc-root work_dirs/large/voc --input-size 512 384 \
        --work-dir work_dirs/anchors_large

Resumable (run it again: finished runs are read back). Writes ``<work-dir>/anchor_fit.{md,json}`` with the
command, the anchors, the machine and its load. Two one-thread runs side by side (``--jobs``).
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from concurrent.futures import ThreadPoolExecutor

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)

from det_kd.benchmark.environment import load_average, machine_info  # noqa: E402
from det_kd.experiments.anchor_fit import choose_anchors  # noqa: E402
from det_kd.experiments.demo import DEFAULT_STUDENT  # noqa: E402
from det_kd.experiments.gain import (BOOTSTRAP_METRIC, checked_bootstrap_by_seed, gain_markdown,  # noqa: E402
                                     gain_summary, per_seed_percent_values)
from det_kd.experiments.run_configs import write_run_config  # noqa: E402
from det_kd.experiments.schedule import schedule_options  # noqa: E402
from det_kd.experiments.train_test import train_and_test  # noqa: E402
from det_kd.experiments.user_data import (boxes_at_input, class_balanced_weights, default_input_size,  # noqa
                                          model_config_for, voc_dataset)

ARMS = ('kept', 'fitted')


def format_load(load) -> str:
    return ' / '.join(f'{value:.1f}' for value in load)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--voc-root', required=True, help='a PASCAL VOC folder (as tools/demo.py --voc-root)')
    parser.add_argument('--input-size', type=int, nargs=2, metavar=('W', 'H'), help='default: the demo\'s')
    parser.add_argument('--student', default=DEFAULT_STUDENT, help='the model config (default: the demo student)')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--epochs', type=int, default=24)
    parser.add_argument('--jobs', type=int, default=2, help='runs side by side, one thread each')
    parser.add_argument('--bootstrap', type=int, default=1000)
    parser.add_argument('--unbalanced', dest='balanced', action='store_false',
                        help='every box counts the same in the fit (default: every class, as the demo)')
    parser.add_argument('--work-dir', required=True)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    start, load_at_start = time.time(), load_average()
    work_dir = osp.abspath(args.work_dir)
    os.makedirs(work_dir, exist_ok=True)
    dataset = voc_dataset(args.voc_root)
    input_size = tuple(args.input_size) if args.input_size else default_input_size(dataset)
    model = model_config_for(args.student, dataset, input_size).model
    choice = choose_anchors(model, boxes_at_input(dataset, input_size), input_size, always=True,
                            weights=class_balanced_weights(dataset.object_labels) if args.balanced else None)
    print(f'[anchor_fit_bench] {choice.message}')
    schedule = schedule_options(args.epochs, args.seeds[0])
    configs = {arm: write_run_config(model_config_for(args.student, dataset, input_size,
                                                      anchor_generator=choice.generator if arm == 'fitted' else None),
                                     osp.join(work_dir, 'configs', f'{arm}.py'), work_dir, schedule) for arm in ARMS}

    def run(job):
        arm, seed = job
        return job, train_and_test(f'{arm} seed {seed}', configs[arm], configs[arm],
                                   osp.join(work_dir, arm, f'seed{seed}'), work_dir, [f'randomness.seed={seed}'],
                                   args.epochs, progress=False, resume=True, env=dict(OMP_NUM_THREADS='1'))

    jobs = [(arm, seed) for seed in args.seeds for arm in ARMS]
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        runs = {arm: {} for arm in ARMS}
        for (arm, seed), metrics in pool.map(run, jobs):
            runs[arm][seed] = metrics
            print(f'[anchor_fit_bench] {arm} seed {seed}: VOC07 {100 * metrics[BOOTSTRAP_METRIC]:.1f}')
    values = {arm: per_seed_percent_values(runs[arm]) for arm in ARMS}
    bootstrap = checked_bootstrap_by_seed(configs['kept'], {s: r['predictions'] for s, r in runs['kept'].items()},
                                          {s: r['predictions'] for s, r in runs['fitted'].items()},
                                          values['kept'][BOOTSTRAP_METRIC], values['fitted'][BOOTSTRAP_METRIC],
                                          args.bootstrap, names=ARMS)
    gain = gain_summary(values['kept'], values['fitted'], None, bootstrap)
    command = 'python benchmarks/anchor_fit_bench.py ' + ' '.join(sys.argv[1:])
    environment = dict(machine_info('cpu'), load_average=dict(start=load_at_start, end=load_average()))
    minutes = (time.time() - start) / 60
    text = (f'# Anchors fitted to the data against the config\'s: {dataset.name} at {input_size[0]}x{input_size[1]}\n\n'
            f'Command: `{command}`; {minutes:.0f} minutes (runs read back from earlier calls count 0). Machine: '
            f'{environment["cpu_model"]}, {environment["cpu_cores"]} cores; load average (1, 5, 15 min) at the start '
            f'{format_load(load_at_start)}, at the end {format_load(environment["load_average"]["end"])}. Student: '
            f'`{osp.relpath(args.student, REPO)}`, {args.epochs} epochs, seeds {args.seeds}, one thread per run, '
            f'{args.jobs} side by side.\n\nAnchors: {choice.message}.\n\n'
            f'Fitted minus kept, paired by seed:\n\n{gain_markdown(gain, names=ARMS)}\n')
    with open(osp.join(work_dir, 'anchor_fit.md'), 'w', encoding='utf-8') as f:
        f.write(text)
    with open(osp.join(work_dir, 'anchor_fit.json'), 'w', encoding='utf-8') as f:
        json.dump(dict(command=command, input_size=input_size, anchors=dict(message=choice.message,
                                                                             fitted=choice.generator),
                       per_seed=values, gain=gain, environment=environment, minutes=minutes), f, indent=2)
    print(text)


if __name__ == '__main__':
    main()
