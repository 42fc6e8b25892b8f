"""Clear errors for config paths and checkpoints, and the CPU fallbacks applied to configs."""
import os.path as osp

import pytest
import torch
from mmengine.config import ConfigDict

from det_kd.benchmark.models import build_detector, drop_pretrained_init, load_config, replace_roi_pool
from det_kd.utils.checkpoint import load_checkpoint_strictly

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY = osp.join(REPO, 'configs', 'faster_rcnn', 'faster-rcnn_tiny-r18_12e_synthetic-coco.py')


def test_unknown_config_path():
    with pytest.raises(FileNotFoundError, match="config file 'nope.py' not found"):
        load_config('nope.py')


def test_checkpoint_mismatch_names_the_file(tmp_path):
    model = build_detector(load_config(TINY).model, config=TINY)
    state = model.state_dict()
    state['distill_terms.hint.adapters.0.conv.weight'] = torch.zeros(1)
    del state['rpn_head.rpn_conv.weight']
    path = str(tmp_path / 'student.pth')
    torch.save(dict(state_dict=state), path)
    with pytest.raises(
            ValueError, match=r"checkpoint of config '.*tiny-r18.*' '.*student\.pth' does not match .*export_student"):
        build_detector(load_config(TINY).model, path, config=TINY)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_checkpoint_strictly(model, str(tmp_path / 'missing.pth'), TINY)


def test_roi_pool_and_pretrained_replaced():
    model = ConfigDict(
        backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='torchvision://vgg16')),
        roi_head=dict(bbox_roi_extractor=dict(roi_layer=dict(type='RoIPool', output_size=7))))
    assert replace_roi_pool(model) == 1 and drop_pretrained_init(model) == 1
    assert model.roi_head.bbox_roi_extractor.roi_layer == dict(
        type='RoIAlign', output_size=7, sampling_ratio=0, pool_mode='max', aligned=False)
    assert model.backbone.init_cfg is None
    assert replace_roi_pool(model) == 0
