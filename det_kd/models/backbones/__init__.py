"""Paper-era backbones (VGG16, VGG-M, AlexNet) with torchvision-compatible parameter names."""
from .alexnet import AlexNet
from .plain_conv_net import PlainConvNet
from .vgg16 import VGG16
from .vggm import VGGM

__all__ = ['AlexNet', 'PlainConvNet', 'VGG16', 'VGGM']
