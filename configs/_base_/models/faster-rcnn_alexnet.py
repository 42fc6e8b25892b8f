# Faster R-CNN with AlexNet, in the detector form of faster-rcnn_vgg16.py (RPN, RoI max pooling, fc6/fc7):
# - backbone: torchvision's AlexNet convs without pool5, conv5 (256 channels) at stride 16; ImageNet
#   weights from torchvision; conv1 frozen;
# - RPN with 256 channels (as py-faster-rcnn's CaffeNet/ZF models);
# - RoI max pooling 6x6, the input size of AlexNet's ImageNet fc6 (py-faster-rcnn's CaffeNet), and
#   fc6/fc7 with 4096 units: about 58M parameters, close to the paper's 62M.
_base_ = './faster-rcnn_vgg16.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='AlexNet',
        widen_factor=1.0,
        frozen_stages=1,
        out_indices=(4, ),
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://alexnet')),
    rpn_head=dict(in_channels=256, feat_channels=256),
    roi_head=dict(
        bbox_roi_extractor=dict(roi_layer=dict(output_size=6), out_channels=256),
        bbox_head=dict(in_channels=256, roi_feat_size=6, fc_out_channels=4096)))
