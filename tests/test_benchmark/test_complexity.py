"""FLOPs conventions (one multiply-add = one FLOP) and the detector wrapper on a real config."""
import os.path as osp

import torch
from torch import nn

from det_kd.benchmark.complexity import count_flops, count_params, detector_complexity
from det_kd.benchmark.latency import synthetic_test_batch
from det_kd.benchmark.models import build_detector, load_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(REPO, 'configs', 'faster_rcnn', 'faster-rcnn_tiny-r18_12e_synthetic-coco.py')


def test_conv_flops_are_macs_without_bias():
    info = count_flops(nn.Conv2d(3, 10, 3), (torch.randn(1, 3, 10, 10), ))
    assert info == dict(flops=17280, activations=640, params=280)  # 10*8*8 outputs x 3*3*3 MACs


def test_detector_complexity_on_tiny_config():
    torch.manual_seed(0)
    model = build_detector(load_config(TINY).model, config=TINY)
    info = detector_complexity(model, synthetic_test_batch(64, 96))
    assert info['params'] == count_params(model)
    assert 0 < info['backbone_params'] < info['params']
    assert 0 < info['backbone_flops'] < info['flops']
    assert info['num_rois'] > 0
    assert info['input_shape'] == [1, 3, 64, 96]  # already a multiple of the padding divisor (32)
