# Modern student: faster-rcnn_r50_fpn.py with ResNet-18 (basic blocks, 64-512 channels; torchvision
# ImageNet weights).
_base_ = './faster-rcnn_r50_fpn.py'

model = dict(
    backbone=dict(depth=18, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')),
    neck=dict(in_channels=[64, 128, 256, 512]))
