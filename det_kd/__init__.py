"""det_kd: knowledge distillation for object detection in MMDetection 3.x.

Importing the package (e.g. through a config's
``custom_imports = dict(imports=['det_kd'], allow_failed_imports=False)``) registers every det_kd module in
MMDetection's registries and lets ``torch.load(weights_only=True)`` read MMEngine's checkpoints, so that
``tools/train.py --resume`` works on torch >= 2.6.
"""
import warnings

# MMEngine finds installed packages through setuptools' deprecated ``pkg_resources``, which warns on every
# (re)import; silence that one warning, before anything imports MMEngine, for every process that loads det_kd.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

from .utils import register_mmengine_safe_globals  # noqa: E402
from .version import __version__  # noqa: E402

from . import datasets, engine, evaluation, models  # noqa: F401,E402  (registers modules)

register_mmengine_safe_globals()

__all__ = ['__version__']
