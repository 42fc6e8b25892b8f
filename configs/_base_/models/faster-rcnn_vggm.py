# Faster R-CNN with VGG-M (Chatfield et al. 2014), in the detector form of faster-rcnn_vgg16.py, as
# py-faster-rcnn's VGG_CNN_M_1024 model:
# - backbone: VGG-M convs without pool5, conv5 (512 channels) at stride 16;
# - RPN with 256 channels, RoI max pooling 6x6, fc6/fc7 with 1024 units (about 26M parameters; the
#   paper's 80M counts the ImageNet classifier);
# - no ImageNet weights: torchvision has no VGG-M, so init_cfg=None (Kaiming init) and nothing is frozen.
#   Caffe's VGG_CNN_M weights converted to VGGM's names (features.0/4/8/10/12) load with
#   init_cfg=dict(type='Pretrained', checkpoint=...).
_base_ = './faster-rcnn_vgg16.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='VGGM',
        widen_factor=1.0,
        frozen_stages=-1,
        out_indices=(4, ),
        init_cfg=None),
    rpn_head=dict(in_channels=512, feat_channels=256),
    roi_head=dict(
        bbox_roi_extractor=dict(roi_layer=dict(output_size=6), out_channels=512),
        bbox_head=dict(in_channels=512, roi_feat_size=6, fc_out_channels=1024)))
