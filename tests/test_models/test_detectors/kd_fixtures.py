"""Tiny student / teacher Faster R-CNN configs and inputs shared by the distillation tests."""
import copy
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
TINY_MODEL = osp.join(REPO, 'configs', '_base_', 'models', 'faster-rcnn_tiny-r18.py')
NUM_CLASSES = 3


def student_cfg(base_channels=8):
    """The repo's tiny single-map Faster R-CNN at a given width, with ``NUM_CLASSES`` classes."""
    cfg = copy.deepcopy(Config.fromfile(TINY_MODEL).model)
    cfg.backbone.base_channels = base_channels
    channels = base_channels * 4
    cfg.rpn_head.in_channels = cfg.rpn_head.feat_channels = channels
    cfg.roi_head.bbox_roi_extractor.out_channels = channels
    cfg.roi_head.bbox_head.in_channels = channels
    cfg.roi_head.bbox_head.fc_out_channels = 32
    cfg.roi_head.bbox_head.num_classes = NUM_CLASSES
    cfg.train_cfg.rcnn.sampler.num = 32
    cfg.train_cfg.rpn.sampler.num = 64
    return cfg


def teacher_cfg():
    """A wider tiny model with its own BatchNorm statistics, used as teacher."""
    return student_cfg(base_channels=16)


def kd_cfg(teacher_checkpoint=None, distill=None, **teacher_kwargs):
    cfg = student_cfg()
    cfg.type = 'KDFasterRCNN'
    cfg.teacher = dict(config=dict(model=teacher_cfg()), checkpoint=teacher_checkpoint,
                       allow_random_init=teacher_checkpoint is None, **teacher_kwargs)
    if distill is not None:
        cfg.distill = distill
    return cfg


def build(cfg):
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def batch(model, seed=0, batch_size=2):
    """A preprocessed batch of ``batch_size`` 3x96x128 images with 2 boxes each."""
    torch.manual_seed(seed)
    data = demo_mm_inputs(batch_size=batch_size, image_shapes=[(3, 96, 128)] * batch_size,
                          num_items=[2] * batch_size, num_classes=NUM_CLASSES)
    data = model.data_preprocessor(data, True)
    return data['inputs'], data['data_samples']


def demo_step_losses(model, seed=0):
    """The losses of one training-mode ``model.loss`` on two 3x128x160 demo images (2 and 1 boxes; identity
    ``homography_matrix``), as a config's one-step test feeds it."""
    torch.manual_seed(seed)
    packed = demo_mm_inputs(batch_size=2, image_shapes=[(3, 128, 160)] * 2, num_items=[2, 1],
                            num_classes=model.roi_head.bbox_head.num_classes)
    for sample in packed['data_samples']:
        sample.set_metainfo(dict(homography_matrix=np.eye(3, dtype=np.float32)))
    model.train()
    data = model.data_preprocessor(packed, True)
    return model.loss(data['inputs'], data['data_samples'])
