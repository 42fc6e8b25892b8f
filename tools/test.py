"""Tests a detector: MMDetection's ``tools/test.py`` with det_kd loaded.

Same arguments as MMDetection's (``config``, ``checkpoint``, ``--work-dir``, ``--out``, ``--show-dir``,
``--tta``, ``--cfg-options``, ``--launcher``); see ``python tools/test.py -h``. One more: a checkpoint that
lacks weights of the config's model is refused (MMDetection loads it non-strictly and reports the mAP of a
partly random model) unless ``--allow-missing-keys`` is given.
"""
import sys

from det_kd.utils import run_mmdet_tool
from det_kd.utils.checkpoint_match import check_checkpoint_matches_config

if __name__ == '__main__':
    run_mmdet_tool('test.py', check_checkpoint_matches_config(sys.argv[1:]))
