"""Runs MMDetection's own command-line tools with det_kd loaded."""
import os.path as osp
import runpy
import sys
from typing import List, Optional

import mmdet
import torch


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
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        end_process_group()


#: The work of :func:`end_process_group`'s barrier, held until the interpreter frees it at exit.
_FINAL_BARRIER: list = []


def end_process_group() -> None:
    """Waits at a barrier for every rank's collectives and keeps the barrier's work to the end of the process.

    Without this a two-process gloo run on the CPU could abort at exit after its work was done (about 1 run in 6
    here, and torchrun then fails the whole run): a gloo worker thread freed the last finished collective (a
    broadcast) after the interpreter had begun to shut down; freeing its tensors takes the GIL, which a thread may
    no longer take then, so the thread exits through a destructor and the process aborts ('terminate called
    without an active exception'). The barrier holds every collective still in flight when it is queued; with
    the barrier's work kept here, they are freed last, by the main thread.
    """
    work = torch.distributed.barrier(async_op=True)
    work.wait()
    _FINAL_BARRIER.append(work)
