"""Installs det_kd, a knowledge-distillation plugin for MMDetection 3.x."""
import os.path as osp

from setuptools import find_packages, setup


def read_version() -> str:
    """Reads ``__version__`` from ``det_kd/version.py`` without importing the package."""
    namespace = {}
    with open(osp.join(osp.dirname(__file__), 'det_kd', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


setup(
    name='det_kd',
    version=read_version(),
    description='Knowledge distillation for Faster R-CNN (Chen et al., NeurIPS 2017) in MMDetection 3.x',
    long_description=open(osp.join(osp.dirname(__file__), 'README.md')).read(),
    long_description_content_type='text/markdown',
    python_requires='>=3.8',
    packages=find_packages(include=['det_kd', 'det_kd.*', 'det_kd_kitti']),
    install_requires=[
        'torch>=2.0',
        'torchvision>=0.15',
        'mmcv>=2.0.0rc4,<2.2.0',
        'mmengine>=0.10.0,<0.11.0',
        'mmdet>=3.3.0,<3.4.0',
        'pycocotools>=2.0.7',
        'numpy',
        'pillow',
        'tqdm',
    ],
    extras_require={'tests': ['pytest>=7', 'pytest-timeout']},
    license='Apache-2.0',
)
