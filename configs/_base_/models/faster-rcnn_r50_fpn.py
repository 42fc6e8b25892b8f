# Modern teacher: MMDetection's Faster R-CNN with ResNet-50 + FPN (RoIAlign, 1024-unit fc head), ImageNet
# weights from torchvision. num_classes=80 (COCO); dataset configs override it.
_base_ = 'mmdet::_base_/models/faster-rcnn_r50_fpn.py'
