"""Tests a detector: MMDetection's ``tools/test.py`` with det_kd loaded.

Same arguments as MMDetection's (``config``, ``checkpoint``, ``--work-dir``, ``--out``, ``--show-dir``,
``--tta``, ``--cfg-options``, ``--launcher``); see ``python tools/test.py -h``.
"""
from det_kd.utils import run_mmdet_tool

if __name__ == '__main__':
    run_mmdet_tool('test.py')
