"""What only a GPU can show: mmcv's CUDA RoIPool in the paper's configs, fp16 autocast and AMP training.

Skipped without CUDA (CI has none); ``benchmarks/gpu_session.sh`` runs them on a GPU machine.
"""
import math
import os.path as osp
import re

import pytest
import torch
from conftest import ONE_EPOCH, REPO, run_tool

from det_kd.benchmark.models import load_config
from det_kd.benchmark.training_cost import (build_training_setup, find_train_pipeline, set_train_input_size,
                                            synthetic_train_batch)

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')

PAPER_KD = osp.join(REPO, 'configs', 'kd', 'kd_alexnet-vgg16_1x_voc07.py')
SYNTHETIC_KD = osp.join(REPO, 'configs', 'kd', 'kd_alexnet-w0.25-vgg16-w0.25_12e_synthetic-coco.py')
KD_KEYS = ('loss_hint', 'loss_rpn_kd_cls', 'loss_rpn_kd_bbox', 'loss_rcn_kd_cls', 'loss_rcn_kd_bbox')


def paper_losses(distiller, batch, fp16):
    """The distiller's logged losses on ``batch`` at a fixed seed, in fp32 or under fp16 autocast."""
    torch.manual_seed(0)
    with torch.no_grad(), torch.autocast('cuda', dtype=torch.float16, enabled=fp16):
        losses = distiller.loss(batch['inputs'], batch['data_samples'])
    _, log_vars = distiller.parse_losses(losses)
    return {key: float(value) for key, value in log_vars.items()}


def test_paper_pair_with_cuda_roi_pool_under_fp16_autocast(tmp_path):
    """VGG16 -> AlexNet as in the paper (mmcv's CUDA RoIPool, full width): every loss finite under fp16
    autocast and close to fp32 on the same batch and seed (the hint has no sampling: tight)."""
    kd_cfg = load_config(PAPER_KD)
    pipeline = find_train_pipeline(kd_cfg)
    set_train_input_size(pipeline, 375, 500)
    batch = synthetic_train_batch(pipeline, 2, 375, 500, str(tmp_path))
    setup = build_training_setup(kd_cfg, random_teacher=True, batch=batch, device='cuda')
    roi_layers = {type(m.roi_layers[0]).__name__ for m in setup.distiller.modules() if hasattr(m, 'roi_layers')}
    assert roi_layers == {'RoIPool'}, roi_layers
    preprocessed = dict(inputs=setup.request.inputs, data_samples=setup.request.samples)
    fp32 = paper_losses(setup.distiller, preprocessed, fp16=False)
    fp16 = paper_losses(setup.distiller, preprocessed, fp16=True)
    print('\nloss            fp32          fp16 autocast   relative difference')
    for key in fp32:
        print(f'{key:15s} {fp32[key]:12.6f}  {fp16[key]:12.6f}  {abs(fp16[key] - fp32[key]) / max(abs(fp32[key]), 1e-12):.2e}')
    assert set(KD_KEYS) <= set(fp32)
    assert all(math.isfinite(value) for value in [*fp32.values(), *fp16.values()])
    assert fp16['loss_hint'] == pytest.approx(fp32['loss_hint'], rel=2e-2)
    for key in KD_KEYS[1:]:
        assert fp16[key] == pytest.approx(fp32[key], rel=0.25, abs=1e-3), key


def test_distillation_trains_with_amp_and_roi_pool_through_the_tools(workspace, teacher_checkpoint, tmp_path):
    """tools/train.py --amp on CUDA with the student's RoI layer back to the paper's RoIPool."""
    config = tmp_path / 'kd_roi_pool.py'
    config.write_text(f"_base_ = [{SYNTHETIC_KD!r}]\n"
                      "model = dict(roi_head=dict(bbox_roi_extractor=dict(\n"
                      "    roi_layer=dict(_delete_=True, type='RoIPool', output_size=6))))\n")
    work_dir = str(workspace / 'kd_amp')
    out = run_tool('train.py', [str(config), '--work-dir', work_dir, '--amp', '--cfg-options',
                                f'model.teacher.checkpoint={teacher_checkpoint}', *ONE_EPOCH], cwd=workspace)
    assert "type='AmpOptimWrapper'" in out  # the runner's config dump
    for key in KD_KEYS:
        assert f'{key}: ' in out, f'{key} not logged'
    assert not re.search(r':\s*-?(nan|inf)\b', out), 'a non-finite value was logged'
    state = torch.load(osp.join(work_dir, 'epoch_1.pth'), map_location='cpu', weights_only=True)['state_dict']
    assert {value.dtype for value in state.values() if value.is_floating_point()} == {torch.float32}
