"""Params and CPU latency of the demo's trained models, measured side by side."""
from typing import Dict, Mapping

import torch
from mmengine.config import Config
from mmdet.utils import register_all_modules

from det_kd.benchmark.latency import LatencySummary, measure_latency, synthetic_test_batch
from det_kd.benchmark.models import build_detector


def params_and_latency(models: Mapping[str, tuple], height: int, width: int, warmup: int = 5,
                       runs: int = 30) -> Dict[str, dict]:
    """Builds each ``name: (config path, checkpoint)`` and times ``test_step`` at batch 1, interleaved.

    Args:
        models (Mapping[str, tuple]): Model name to ``(config, checkpoint)``; the checkpoint is loaded strictly
            after dropping distillation-only keys.
        height (int): Input height.
        width (int): Input width.
        warmup (int): Untimed rounds. Defaults to 5.
        runs (int): Timed rounds. Defaults to 30.

    Returns:
        dict: ``{name: {'params': int, 'latency': LatencySummary.to_dict()}}``.
    """
    register_all_modules(init_default_scope=True)
    detectors = {
        name: build_detector(Config.fromfile(config).model, checkpoint, config=config)
        for name, (config, checkpoint) in models.items()
    }
    times = measure_latency(detectors, synthetic_test_batch(height, width), warmup, runs, progress=True)
    return {
        name: dict(params=sum(p.numel() for p in detector.parameters()),
                   latency=LatencySummary.from_times(times[name]).to_dict(), threads=torch.get_num_threads())
        for name, detector in detectors.items()
    }
