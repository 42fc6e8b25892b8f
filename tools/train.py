"""Trains a detector: MMDetection's ``tools/train.py`` with det_kd loaded.

Same arguments as MMDetection's (``config``, ``--work-dir``, ``--resume [CKPT]``, ``--amp``,
``--auto-scale-lr``, ``--cfg-options``, ``--launcher``); see ``python tools/train.py -h``.
"""
from det_kd.utils import run_mmdet_tool

if __name__ == '__main__':
    run_mmdet_tool('train.py')
