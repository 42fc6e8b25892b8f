"""AlexNet (Krizhevsky et al. 2012, torchvision's single-tower variant) without pool5, for Faster R-CNN."""
from mmdet.registry import MODELS

from .plain_conv_net import Conv, MaxPool, PlainConvNet


@MODELS.register_module()
class AlexNet(PlainConvNet):
    """AlexNet's convolutional layers; the Tucker-2 compressed student when ``tucker_ranks`` is set.

    ``features`` is torchvision's ``alexnet().features`` minus its last entry (pool5, index 12): at
    ``widen_factor=1.0`` it has the same names and shapes (2,469,696 parameters), so
    ``init_cfg=dict(type='Pretrained', checkpoint='torchvision://alexnet')`` loads ImageNet weights
    (decomposed by HOSVD into the Tucker-2 layers, if any). torchvision's features end at stride 32;
    dropping pool5 leaves the conv5 map at stride 16 for the RPN and RoI pooling (as py-faster-rcnn's
    CaffeNet/ZF models). torchvision pools without ``ceil_mode``, so the map is ``floor``-sized
    (e.g. 36 x 61 for a 600 x 1000 image) and the stride is 16 up to a few border pixels.

    =====  ===========================  ==========  ========  ======  =================
    stage  layers (``features`` index)  conv name   channels  stride  conv kernel
    =====  ===========================  ==========  ========  ======  =================
    0      conv 0                       conv1       64        4       11x11 / 4, pad 2
    1      pool 2, conv 3               conv2       192       8       5x5, pad 2
    2      pool 5, conv 6               conv3       384       16      3x3, pad 1
    3      conv 8                       conv4       256       16      3x3, pad 1
    4      conv 10                      conv5       256       16      3x3, pad 1
    =====  ===========================  ==========  ========  ======  =================

    Every conv at index ``i`` is followed by its ReLU at ``i + 1``; conv5 after ReLU is ``features.11``,
    the default output. A conv in ``tucker_ranks`` keeps its index (``features.3`` is then a
    ``TuckerConv2d`` with ``in_proj``/``core``/``out_proj``). Constructor arguments: see
    :class:`PlainConvNet`.
    """

    arch = (
        (Conv('conv1', 64, 11, 4, 2), ),
        (MaxPool(3, 2), Conv('conv2', 192, 5, 1, 2)),
        (MaxPool(3, 2), Conv('conv3', 384, 3, 1, 1)),
        (Conv('conv4', 256, 3, 1, 1), ),
        (Conv('conv5', 256, 3, 1, 1), ),
    )
