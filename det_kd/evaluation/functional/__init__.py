"""Framework-free evaluation functions: the KITTI 2D evaluation of :mod:`det_kd_kitti` (numpy only; a package
of its own so that scoring KITTI files needs no torch / mmcv / mmdet), under det_kd's evaluation namespace."""
from det_kd_kitti import *  # noqa: F401,F403
from det_kd_kitti import __all__  # noqa: F401
from det_kd_kitti import kitti_eval, kitti_io  # noqa: F401  (the modules, as before the move)
