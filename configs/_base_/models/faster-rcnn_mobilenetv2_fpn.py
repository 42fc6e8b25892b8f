# Modern student: faster-rcnn_r50_fpn.py with MMDetection's MobileNetV2 (BatchNorm, ReLU6). FPN takes
# layer2/3/5 and the final 1x1 conv (strides 4/8/16/32, 24/32/96/1280 channels at widen_factor=1.0).
# ImageNet weights: mmdet's converted MobileNetV2 checkpoint (open-mmlab://mmdet/mobilenet_v2, the one its
# YOLOv3/SSDLite configs use); torchvision's mobilenet_v2 has other parameter names.
_base_ = './faster-rcnn_r50_fpn.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        widen_factor=1.0,
        out_indices=(1, 2, 4, 7),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://mmdet/mobilenet_v2')),
    neck=dict(in_channels=[24, 32, 96, 1280]))
