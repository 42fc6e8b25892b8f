"""Runs MMDetection's own command-line tools with det_kd loaded."""
import os.path as osp
import runpy
import sys
from typing import List, Optional

import mmdet


def mmdet_tool_path(name: str) -> str:
    """Path of a script shipped with mmdet under ``mmdet/.mim/tools``.

    Args:
        name (str): Script path relative to that folder, e.g. ``'train.py'`` or
            ``'analysis_tools/get_flops.py'``.

    Returns:
        str: The absolute path.

    Raises:
        FileNotFoundError: If the installed mmdet does not ship that script.
    """
    path = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', name)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'mmdet {mmdet.__version__} at {osp.dirname(mmdet.__file__)} does not ship tools/{name}; '
            'det_kd expects mmdet 3.3 installed from its wheel (run tools/setup_env.sh).')
    return path


def run_mmdet_tool(name: str, argv: Optional[List[str]] = None) -> None:
    """Runs ``mmdet/.mim/tools/<name>`` as ``__main__`` after importing det_kd.

    Importing det_kd registers its modules in MMDetection's registries and lets
    ``torch.load(weights_only=True)`` read MMEngine checkpoints (see :mod:`det_kd.utils.safe_globals`),
    so ``--resume`` works. The tool keeps all of MMDetection's arguments. det_kd is loaded by the time this
    runs: importing this module (``det_kd.utils.mmdet_tools``) runs the package's ``det_kd/__init__.py``
    first, so this module does not import ``det_kd`` back.

    Args:
        name (str): Script path relative to ``mmdet/.mim/tools``.
        argv (list[str], optional): Arguments after the script name. Defaults to ``sys.argv[1:]``.
    """
    path = mmdet_tool_path(name)
    sys.argv = [path] + list(sys.argv[1:] if argv is None else argv)
    runpy.run_path(path, run_name='__main__')
