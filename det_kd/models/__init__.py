"""det_kd's models; importing this package registers them in MMDetection's ``MODELS`` registry."""
from . import backbones, detectors, distillation, layers, losses  # noqa: F401  (registers modules)
from .backbones import VGG16, VGGM, AlexNet, PlainConvNet
from .detectors import KDFasterRCNN
from .layers import TuckerConv2d
from .losses import HintLoss, TeacherBoundedRegressionLoss, WeightedSoftCrossEntropyLoss

__all__ = [
    'AlexNet', 'PlainConvNet', 'TuckerConv2d', 'VGG16', 'VGGM', 'KDFasterRCNN', 'HintLoss',
    'TeacherBoundedRegressionLoss', 'WeightedSoftCrossEntropyLoss'
]
