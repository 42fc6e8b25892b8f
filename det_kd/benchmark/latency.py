"""Inference latency at batch 1, with the compared models timed in turn, run by run.

The convention is MMDetection's ``InferenceBenchmark`` (see ``docs/evaluation.md``, latency): one call
of ``model.test_step`` (data preprocessor + forward + post-processing / NMS, no data loading) per image,
warm-up calls discarded, CUDA synchronised before each timestamp, and ``fps = timed calls / total time``.
Here the models are interleaved: round ``r`` runs every model once, in a fixed order, so that a noisy,
shared machine slows them alike; the median and the 10th and 90th percentiles of the per-call times are
reported too (their p10-p90 range is the timing noise).
"""
import contextlib
import functools
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from mmdet.structures import DetDataSample

from ..synthetic import SceneConfig, generate_scene

Clock = Callable[[], float]
Synchronize = Optional[Callable[[], None]]


@dataclass(frozen=True)
class LatencySummary:
    """Statistics of the timed (post warm-up) calls of one model.

    Args:
        runs (int): Number of timed calls.
        median_ms (float): Median time per call in milliseconds.
        p10_ms (float): 10th percentile (linear interpolation between ranks) in milliseconds.
        p90_ms (float): 90th percentile (linear interpolation between ranks) in milliseconds.
        mean_ms (float): Mean time per call in milliseconds (``1000 / fps``).
        fps (float): ``runs / total time``, MMDetection's FPS.
    """

    runs: int
    median_ms: float
    p10_ms: float
    p90_ms: float
    mean_ms: float
    fps: float

    @classmethod
    def from_times(cls, times: Sequence[float]) -> 'LatencySummary':
        """Summarises per-call times in seconds (warm-up already excluded).

        Raises:
            ValueError: If ``times`` is empty.
        """
        if not times:
            raise ValueError('no timed runs to summarise (runs must be >= 1)')
        total = float(sum(times))
        p10, p90 = np.percentile(times, [10, 90])
        return cls(
            runs=len(times),
            median_ms=1e3 * statistics.median(times),
            p10_ms=1e3 * float(p10),
            p90_ms=1e3 * float(p90),
            mean_ms=1e3 * total / len(times),
            fps=len(times) / total)

    def to_dict(self) -> Dict[str, float]:
        """The fields as a plain dict (for JSON)."""
        return asdict(self)


def device_synchronizer(device: str) -> Synchronize:
    """``torch.cuda.synchronize`` bound to ``device`` for a CUDA device, None for the CPU.

    Args:
        device (str): A torch device string, e.g. ``'cpu'``, ``'cuda'``, ``'cuda:1'``.
    """
    device = torch.device(device)
    if device.type == 'cuda':
        return functools.partial(torch.cuda.synchronize, device)
    if device.type != 'cpu':
        raise ValueError(f'unsupported device {device} (use cpu or cuda)')
    return None


def timed_call(fn: Callable[[], Any],
               clock: Clock = time.perf_counter,
               synchronize: Synchronize = None) -> float:
    """Seconds taken by ``fn()``, with ``synchronize()`` before each of the two timestamps.

    Args:
        fn (callable): The call to time.
        clock (callable): Returns the current time in seconds. Defaults to ``time.perf_counter``.
        synchronize (callable, optional): Waits for the device (CUDA). Defaults to None (CPU).
    """
    if synchronize is not None:
        synchronize()
    start = clock()
    fn()
    if synchronize is not None:
        synchronize()
    return clock() - start


def time_interleaved(fns: Mapping[str, Callable[[], Any]],
                     warmup: int,
                     runs: int,
                     clock: Clock = time.perf_counter,
                     synchronize: Synchronize = None,
                     progress: bool = True) -> Dict[str, List[float]]:
    """Times several calls round-robin: each round calls every function once, in ``fns``' order.

    The first ``warmup`` rounds are not recorded.

    Args:
        fns (Mapping[str, callable]): Name -> function to time; the order is the order within a round.
        warmup (int): Untimed rounds first.
        runs (int): Timed rounds.
        clock (callable): Returns the current time in seconds. Defaults to ``time.perf_counter``.
        synchronize (callable, optional): See :func:`timed_call`. Defaults to None.
        progress (bool): Show a progress bar over all calls. Defaults to True.

    Returns:
        dict[str, list[float]]: Name -> ``runs`` times in seconds, in round order.
    """
    if warmup < 0 or runs < 1:
        raise ValueError(f'need warmup >= 0 and runs >= 1, got warmup={warmup}, runs={runs}')
    times: Dict[str, List[float]] = {name: [] for name in fns}
    with tqdm(
            total=(warmup + runs) * len(fns),
            desc='timing',
            unit='call',
            disable=not progress,
            dynamic_ncols=True) as bar:
        for round_index in range(warmup + runs):
            timed = round_index >= warmup
            for name, fn in fns.items():
                bar.set_postfix_str(f"{name}{'' if timed else ' (warm-up)'}", refresh=False)
                elapsed = timed_call(fn, clock, synchronize)
                if timed:
                    times[name].append(elapsed)
                bar.update()
    return times


def speedups(times: Mapping[str, Sequence[float]], reference: str) -> Dict[str, Dict[str, float]]:
    """How many times faster than ``reference`` each entry ran, from the same interleaved run.

    Args:
        times (Mapping[str, Sequence[float]]): Name -> timed calls in round order
            (from :func:`time_interleaved`).
        reference (str): The name everything is compared with.

    Returns:
        dict: Name -> ``{'median_ratio': median(ref) / median(name), 'paired_ratio': median over rounds
        of ref[r] / name[r]}``. The paired ratio compares calls made back to back in the same round.
    """
    if reference not in times:
        raise KeyError(f'reference {reference!r} is not among the timed models {sorted(times)}')
    ref = times[reference]
    return {
        name:
        dict(
            median_ratio=statistics.median(ref) / statistics.median(values),
            paired_ratio=statistics.median(r / v for r, v in zip(ref, values)))
        for name, values in times.items()
    }


def synthetic_test_batch(height: int, width: int, seed: int = 0) -> Dict[str, list]:
    """A batch of one rendered synthetic scene, as a test dataloader would give it.

    The image is ``height x width`` BGR uint8 (as ``LoadImageFromFile`` loads it); the data sample carries
    the metainfo of an unscaled image (``ori_shape == img_shape``, ``scale_factor`` 1), so
    post-processing rescales nothing. The data preprocessor adds the padded shapes.

    Args:
        height (int): Image height.
        width (int): Image width.
        seed (int): Scene seed. Defaults to 0.

    Returns:
        dict: ``{'inputs': [uint8 (3, H, W) tensor], 'data_samples': [DetDataSample]}``.
    """
    scene = generate_scene(seed, 'test', 0, SceneConfig(width=width, height=height))
    bgr = np.ascontiguousarray(scene.image[..., ::-1].transpose(2, 0, 1))
    sample = DetDataSample(
        metainfo=dict(
            img_id=0,
            img_path='<synthetic>',
            ori_shape=(height, width),
            img_shape=(height, width),
            scale_factor=(1.0, 1.0)))
    return dict(inputs=[torch.from_numpy(bgr)], data_samples=[sample])


PRECISIONS = ('fp32', 'fp16')


def precision_context(device: str, precision: str = 'fp32'):
    """The context a model runs under at ``precision``: fp32 as it is, fp16 under CUDA autocast.

    fp16 is mmengine's ``test_cfg=dict(fp16=True)`` (``torch.autocast`` with float16), which needs CUDA
    here: mmcv's CPU RoI kernels take float32 only.

    Raises:
        ValueError: For an unknown precision, or fp16 on a device that is not CUDA.
    """
    if precision not in PRECISIONS:
        raise ValueError(f'precision must be one of {PRECISIONS}, got {precision!r}')
    if precision == 'fp32':
        return contextlib.nullcontext()
    if torch.device(device).type != 'cuda':
        raise ValueError(f'precision fp16 needs a CUDA device, got {device!r}')
    return torch.autocast('cuda', dtype=torch.float16)


def make_test_step(model: nn.Module,
                   batch: Dict[str, list],
                   device: str = 'cpu',
                   precision: str = 'fp32') -> Callable[[], list]:
    """``model.test_step(batch)`` under ``torch.no_grad`` (and fp16 autocast for ``precision='fp16'``),
    as a call without arguments."""
    precision_context(device, precision)  # fails early on a bad setting

    def run() -> list:
        with torch.no_grad(), precision_context(device, precision):
            return model.test_step(batch)

    return run


def measure_latency(models: Mapping[str, nn.Module],
                    batch: Union[Dict[str, list], Mapping[str, Dict[str, list]]],
                    warmup: int,
                    runs: int,
                    device: str = 'cpu',
                    progress: bool = True,
                    precision: str = 'fp32') -> Dict[str, List[float]]:
    """Interleaved ``test_step`` times of several detectors on the same batch (or one batch each).

    Args:
        models (Mapping[str, nn.Module]): Name -> detector in eval mode on ``device``.
        batch (dict): From :func:`synthetic_test_batch`, for every model; or name -> batch, e.g. for models
            that run at different input sizes.
        warmup (int): Untimed rounds.
        runs (int): Timed rounds.
        device (str): The models' device (CUDA is synchronised around each call). Defaults to 'cpu'.
        progress (bool): Show a progress bar. Defaults to True.
        precision (str): ``'fp32'`` or ``'fp16'`` (CUDA autocast, see :func:`precision_context`).
            Defaults to 'fp32'.

    Returns:
        dict[str, list[float]]: Name -> per-call seconds.
    """
    batches = {name: batch for name in models} if 'inputs' in batch else batch
    fns = {name: make_test_step(model, batches[name], device, precision) for name, model in models.items()}
    return time_interleaved(fns, warmup, runs, synchronize=device_synchronizer(device), progress=progress)
