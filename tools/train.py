"""Trains a detector: MMDetection's ``tools/train.py`` with det_kd loaded.

Same arguments as MMDetection's (``config``, ``--work-dir``, ``--resume [CKPT]``, ``--amp``,
``--auto-scale-lr``, ``--cfg-options``, ``--launcher``); see ``python tools/train.py -h``. One more:
a work dir that already holds checkpoints is refused unless the run resumes (``--resume``) or
``--overwrite-work-dir`` is given (MMEngine would overwrite them).
"""
import sys

from det_kd.utils import run_mmdet_tool
from det_kd.utils.work_dir_guard import check_work_dir_is_free

if __name__ == '__main__':
    run_mmdet_tool('train.py', check_work_dir_is_free(sys.argv[1:]))
