# Modern teacher: faster-rcnn_r50_fpn.py with ResNet-101 (torchvision ImageNet weights).
_base_ = './faster-rcnn_r50_fpn.py'

model = dict(backbone=dict(depth=101, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet101')))
