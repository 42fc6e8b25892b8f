"""Params and CPU latency of the demo's trained models, measured side by side, each at its own input size."""
from typing import Dict, Mapping, Tuple

import mmcv
import torch
from mmengine.config import Config
from mmdet.utils import register_all_modules

from det_kd.benchmark.latency import LatencySummary, measure_latency, synthetic_test_batch
from det_kd.benchmark.models import build_detector


def model_input_size(config: str, image_size: Tuple[int, int]) -> Tuple[int, int]:
    """``(width, height)`` at which ``config``'s test pipeline feeds an ``image_size`` image to the model.

    Follows the pipeline's ``Resize`` (fit into ``scale`` when ``keep_ratio``, else exactly ``scale``); the
    image size itself when the pipeline has no ``Resize``.
    """
    pipeline = Config.fromfile(config).test_dataloader.dataset.pipeline
    resize = next((step for step in pipeline if step['type'] in ('Resize', 'mmdet.Resize')), None)
    if resize is None or 'scale' not in resize:
        return tuple(image_size)
    if resize.get('keep_ratio', False):
        return tuple(mmcv.rescale_size(tuple(image_size), tuple(resize['scale'])))
    return tuple(resize['scale'])


def params_and_latency(models: Mapping[str, tuple], image_size: Tuple[int, int], warmup: int = 5,
                       runs: int = 30, progress: bool = True) -> Dict[str, dict]:
    """Builds each ``name: (config path, checkpoint)`` and times ``test_step`` at batch 1, interleaved.

    Args:
        models (Mapping[str, tuple]): Model name to ``(config, checkpoint)``; the checkpoint is loaded strictly
            after dropping distillation-only keys.
        image_size (tuple): ``(width, height)`` of the dataset's images; each model is timed on a rendered
            scene at the size its config's test pipeline resizes such an image to.
        warmup (int): Untimed rounds. Defaults to 5.
        runs (int): Timed rounds. Defaults to 30.
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        dict: ``{name: {'params': int, 'input_size': (width, height), 'threads': int,
        'latency': LatencySummary.to_dict()}}``.
    """
    register_all_modules(init_default_scope=True)
    detectors = {
        name: build_detector(Config.fromfile(config).model, checkpoint, config=config)
        for name, (config, checkpoint) in models.items()
    }
    sizes = {name: model_input_size(config, image_size) for name, (config, _) in models.items()}
    batches = {name: synthetic_test_batch(height=size[1], width=size[0]) for name, size in sizes.items()}
    times = measure_latency(detectors, batches, warmup, runs, progress=progress)
    return {
        name: dict(params=sum(p.numel() for p in detector.parameters()), input_size=sizes[name],
                   latency=LatencySummary.from_times(times[name]).to_dict(), threads=torch.get_num_threads())
        for name, detector in detectors.items()
    }
