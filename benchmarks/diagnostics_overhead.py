"""Step-time overhead of ``DistillationDiagnosticsHook``: a measured step against a plain one.

Runs interleaved plain and measured SGD steps (loss, backward, step) on one fixed batch of 2 and reports
the medians and the overhead at a given interval, ``(measured - plain) / (interval * plain)``.

    OMP_NUM_THREADS=1 python benchmarks/diagnostics_overhead.py --model tiny --steps 30
    OMP_NUM_THREADS=1 python benchmarks/diagnostics_overhead.py --model demo --steps 10

``tiny``: the tests' ResNet pair (``tests/test_models/test_detectors/kd_fixtures.py``) at 96x128; ``demo``:
``configs/demo/kd_alexnet-w0.25-vgg16-w0.25_demo.py`` (random teacher) at 192x256.
"""
import argparse
import copy
import logging
import os.path as osp
import statistics
import sys
import time

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmdet.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def build_pair(name: str):
    """The model and a preprocessed batch of 2."""
    if name == 'tiny':
        sys.path.insert(0, osp.join(REPO, 'tests', 'test_models', 'test_detectors'))
        from kd_fixtures import batch, build, kd_cfg
        model = build(kd_cfg())
        return model, batch(model)
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'demo', 'kd_alexnet-w0.25-vgg16-w0.25_demo.py'))
    cfg.model.teacher.update(checkpoint=None, allow_random_init=True)
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.manual_seed(0)
    data = demo_mm_inputs(batch_size=2, image_shapes=[(3, 192, 256)] * 2, num_items=[3, 3],
                          num_classes=model.roi_head.bbox_head.num_classes)
    data = model.data_preprocessor(data, True)
    return model, (data['inputs'], data['data_samples'])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', choices=('tiny', 'demo'), default='tiny')
    parser.add_argument('--steps', type=int, default=30, help='pairs of timed steps (after 3 warm-up pairs)')
    parser.add_argument('--interval', type=int, default=100)
    args = parser.parse_args()
    register_all_modules(init_default_scope=True)
    import det_kd  # noqa: F401
    from det_kd.models.distillation import DistillationProbe
    MMLogger.get_current_instance().setLevel(logging.ERROR)

    model, (inputs, samples) = build_pair(args.model)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4)

    def step(measure: bool) -> float:
        start = time.perf_counter()
        with DistillationProbe(model) if measure else torch.enable_grad():
            loss, _ = model.parse_losses(model.loss(inputs, copy.deepcopy(samples)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return time.perf_counter() - start

    for _ in range(3):
        step(False), step(True)
    plain, measured = [], []
    for _ in range(args.steps):
        plain.append(step(False))
        measured.append(step(True))
    p, m = statistics.median(plain), statistics.median(measured)
    overhead = 100 * (m - p) / (args.interval * p)
    print(f'{args.model}: plain step {1000 * p:.1f} ms, measured step {1000 * m:.1f} ms ({m / p:.2f}x); '
          f'overhead at interval {args.interval}: {overhead:.2f}% of the step time')


if __name__ == '__main__':
    main()
