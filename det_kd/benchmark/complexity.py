"""Parameters and FLOPs of a detector, counted as MMDetection's ``get_flops.py`` counts them.

FLOPs come from mmengine's ``get_model_complexity_info`` (a JIT-trace counter ported from fvcore), which
counts **one fused multiply-add as one FLOP**: the numbers are multiply-accumulates (MACs), the unit
papers call "FLOPs". Only ops with a handle are counted (convolutions, matrix products, linear layers,
upsampling...); biases, element-wise ops, batch norm, pooling, RoI pooling and NMS are not (their
"Unsupported operator" warnings are silenced). The
detector is traced through ``forward(inputs, data_samples, mode='tensor')``: backbone, neck, RPN,
proposal selection and the RoI head on the RPN's test-time proposals, so a two-stage detector's count
depends on how many proposals survive NMS, which is reported with it.
"""
import contextlib
import logging
from typing import Dict, Iterator, List, Sequence, Tuple

import torch
from mmengine.analysis import get_model_complexity_info
from mmengine.logging import MMLogger
from torch import Tensor, nn

from mmdet.structures import SampleList


@contextlib.contextmanager
def _quiet_current_logger() -> Iterator[None]:
    """Silences the current MMLogger below ERROR (the counter's per-op "Unsupported operator" lines)."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def count_flops(module: nn.Module, inputs: Tuple[Tensor, ...]) -> Dict[str, int]:
    """FLOPs (multiply-adds), activations and parameters of ``module(*inputs)``, via mmengine.

    Example: ``nn.Conv2d(3, 10, 3)`` on a ``1x3x10x10`` input gives 17280 FLOPs (``10*8*8 * 3*3*3``, bias
    not counted), 640 activations and 280 parameters.

    Args:
        module (nn.Module): The module; its ``forward`` receives ``inputs``.
        inputs (tuple[Tensor, ...]): Positional inputs.

    Returns:
        dict: ``{'flops': int, 'activations': int, 'params': int}``.
    """
    with torch.no_grad(), _quiet_current_logger():
        info = get_model_complexity_info(module, inputs=inputs, show_table=False, show_arch=False)
    return {key: int(info[key]) for key in ('flops', 'activations', 'params')}


def count_params(module: nn.Module) -> int:
    """Number of parameters of ``module`` (trainable or not)."""
    return sum(p.numel() for p in module.parameters())


class TensorModeForward(nn.Module):
    """A detector's ``forward(inputs, data_samples, mode='tensor')`` as a one-argument module to trace.

    Args:
        detector (nn.Module): An MMDetection detector.
        data_samples (list[DetDataSample]): The preprocessed samples (with ``batch_input_shape``).
    """

    def __init__(self, detector: nn.Module, data_samples: SampleList) -> None:
        super().__init__()
        self.detector = detector
        self.data_samples = data_samples

    def forward(self, inputs: Tensor):
        """The raw head outputs (no post-processing)."""
        return self.detector(inputs, self.data_samples, mode='tensor')


def _count_rois(detector: nn.Module, calls: List[int]):
    """Registers a hook that appends the number of RoIs of each RoI-extractor call to ``calls``."""
    extractor = getattr(getattr(detector, 'roi_head', None), 'bbox_roi_extractor', None)
    if extractor is None:
        return None
    return extractor.register_forward_pre_hook(lambda module, args: calls.append(int(args[1].shape[0])))


def detector_complexity(detector: nn.Module, batch: Dict[str, Sequence]) -> Dict[str, object]:
    """Parameters and FLOPs of a detector and of its backbone on one preprocessed batch.

    Args:
        detector (nn.Module): An MMDetection detector in eval mode.
        batch (dict): ``{'inputs': [...], 'data_samples': [...]}`` as a dataloader gives it; it goes
            through the detector's data preprocessor first.

    Returns:
        dict: ``params``, ``backbone_params``, ``flops`` / ``activations`` of the whole detector in tensor
        mode, ``backbone_flops``, ``num_rois`` (RoIs the box head saw; None without a RoI head) and
        ``input_shape`` (the padded batch shape that was counted).
    """
    with torch.no_grad():
        data = detector.data_preprocessor(batch, False)
    inputs = data['inputs']
    rois: List[int] = []
    handle = _count_rois(detector, rois)
    try:
        whole = count_flops(TensorModeForward(detector, data['data_samples']), (inputs, ))
    finally:
        if handle is not None:
            handle.remove()
    return dict(
        params=count_params(detector),
        backbone_params=count_params(detector.backbone),
        flops=whole['flops'],
        activations=whole['activations'],
        backbone_flops=count_flops(detector.backbone, (inputs, ))['flops'],
        num_rois=rois[-1] if rois else None,
        input_shape=list(inputs.shape))
