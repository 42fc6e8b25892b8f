"""VGG-M (Chatfield et al., "Return of the Devil in the Details", BMVC 2014) without pool5."""
from mmdet.registry import MODELS

from .plain_conv_net import LRN, Conv, MaxPool, PlainConvNet

# Caffe's LRN of VGG_CNN_M (local_size 5, alpha 5e-4, beta 0.75, k 2); nn.LocalResponseNorm divides alpha
# by the window size as Caffe does.
_LRN = LRN(size=5, alpha=0.0005, beta=0.75, k=2.0)


@MODELS.register_module()
class VGGM(PlainConvNet):
    """VGG-M's convolutional layers (VGG_CNN_M of Chatfield et al. 2014, as in py-faster-rcnn).

    conv1 96x7x7/2 + LRN + max pool 3/2, conv2 256x5x5/2 (pad 1) + LRN + max pool 3/2, conv3-5 512x3x3
    (pad 1); the poolings round up (Caffe's ``ceil_mode``), so a 608 x 1008 image gives a 37 x 62 conv5 map.
    pool5 is dropped, so conv5 is the stride-16 map for the RPN and RoI pooling. There are no
    torchvision weights for VGG-M: ``init_cfg`` defaults to a random (Kaiming) init, and Caffe weights
    converted to these names can be loaded with ``init_cfg=dict(type='Pretrained', checkpoint=...)``.

    =====  ===========================  =========  ========  ======
    stage  layers (``features`` index)  conv name  channels  stride
    =====  ===========================  =========  ========  ======
    0      conv 0, LRN 2                conv1      96        2
    1      pool 3, conv 4, LRN 6        conv2      256       8
    2      pool 7, conv 8               conv3      512       16
    3      conv 10                      conv4      512       16
    4      conv 12                      conv5      512       16
    =====  ===========================  =========  ========  ======

    Every conv at index ``i`` is followed by its ReLU at ``i + 1``; conv5 after ReLU is ``features.13``,
    the default output. Constructor arguments: see :class:`PlainConvNet`.
    """

    arch = (
        (Conv('conv1', 96, 7, 2, 0), _LRN),
        (MaxPool(3, 2, ceil_mode=True), Conv('conv2', 256, 5, 2, 1), _LRN),
        (MaxPool(3, 2, ceil_mode=True), Conv('conv3', 512, 3, 1, 1)),
        (Conv('conv4', 512, 3, 1, 1), ),
        (Conv('conv5', 512, 3, 1, 1), ),
    )
