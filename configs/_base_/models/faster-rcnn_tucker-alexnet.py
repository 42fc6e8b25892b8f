# The paper's "Tucker" student: faster-rcnn_alexnet.py with conv2-conv5 Tucker-2 decomposed (Kim et al.
# 2016) to 37.5% of AlexNet's backbone FLOPs; conv1 (3 input channels) is left intact.
# The ranks come from det_kd.compression.select_tucker_ranks (uniform criterion: ranks proportional to
# each layer's channels, one scale found by bisection on the backbone's conv multiply-adds) for the
# width-1.0 AlexNet at a 600x1000 input; they give 37.54% of the FLOPs (3.14 of 8.37 GMACs):
#   python tools/tucker_compress.py configs/_base_/models/faster-rcnn_alexnet.py CKPT --flops-ratio 0.375
# The ImageNet AlexNet weights of init_cfg are decomposed (HOSVD) into these layers when loaded.
# fc6/fc7 have 1024 units, which gives about 12M parameters like the paper's 11M Tucker model
# (with AlexNet's 4096-unit fc6/fc7 it would have 55M).
_base_ = './faster-rcnn_alexnet.py'

model = dict(
    backbone=dict(tucker_ranks=dict(conv2=(29, 88), conv3=(88, 176), conv4=(176, 118), conv5=(118, 118))),
    roi_head=dict(bbox_head=dict(fc_out_channels=1024)))
