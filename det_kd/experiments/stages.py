"""Runs the repo's training and testing tools as logged subprocesses with a progress bar."""
import ctypes
import functools
import glob
import json
import os
import os.path as osp
import re
import signal
import subprocess
import sys
from typing import Dict, List, Optional, Sequence

from tqdm import tqdm

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# mmengine's training log line, e.g. "Epoch(train)  [3][40/50]" or "Iter(train) [120/600]".
_EPOCH_PROGRESS = re.compile(r'Epoch\(train\)\s*\[(\d+)\]\[\s*(\d+)/(\d+)\]')
_ITER_PROGRESS = re.compile(r'Iter\(train\)\s*\[\s*(\d+)/(\d+)\]')
_TEST_PROGRESS = re.compile(r'Epoch\(test\)\s*\[\s*(\d+)/(\d+)\]')


class StageError(RuntimeError):
    """A tool exited with an error; the message names the log file and quotes its end."""


def training_progress(line: str, max_epochs: int) -> Optional[tuple]:
    """``(done, total)`` iterations from a training log line, or None if the line has no progress."""
    match = _EPOCH_PROGRESS.search(line)
    if match:
        epoch, step, per_epoch = (int(g) for g in match.groups())
        return (epoch - 1) * per_epoch + step, max_epochs * per_epoch
    match = _ITER_PROGRESS.search(line)
    if match:
        return int(match.group(1)), int(match.group(2))
    return None


def evaluation_progress(line: str) -> Optional[tuple]:
    """``(done, total)`` images from a ``tools/test.py`` log line (``Epoch(test) [ 50/500]``), or None."""
    match = _TEST_PROGRESS.search(line)
    return (int(match.group(1)), int(match.group(2))) if match else None


_LIBC = ctypes.CDLL(None) if sys.platform.startswith('linux') else None
_PR_SET_PDEATHSIG = 1  # prctl(2)


def _end_with_parent(parent: int) -> None:
    """In the child between fork and exec (Linux): the kernel sends it SIGTERM when the thread that started it
    ends, so an experiment that is stopped (killed, or its terminal closed) does not leave its tool training on
    in a run folder that the resumed experiment then trains in as well; if ``parent`` already ended, now."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


def run_tool(tool: str, args: Sequence[str], log_path: str, desc: str, cwd: str, max_epochs: int = 0,
             show_progress: bool = True, env: Optional[Dict[str, str]] = None) -> None:
    """Runs ``tools/<tool>`` with ``args`` in ``cwd``; output goes to ``log_path``.

    Args:
        tool (str): Script name in ``tools/``.
        args (Sequence[str]): Its arguments.
        log_path (str): Where stdout and stderr are written.
        desc (str): Progress bar label.
        cwd (str): Working directory (configs read ``data/`` relative to it).
        max_epochs (int): For training, the number of epochs, so the bar knows its total. Defaults to 0
            (not a training: the bar follows the test images of ``tools/test.py`` if it logs them).
        show_progress (bool): Show a tqdm bar. Defaults to True.
        env (dict, optional): Environment variables set for the tool on top of this process's (e.g.
            ``OMP_NUM_THREADS`` when several tools share the CPU). Defaults to None.

    Raises:
        StageError: If the tool exits with a non-zero status.

    On Linux the tool ends with the thread that runs this (it gets SIGTERM): stopping an experiment stops its runs.
    """
    os.makedirs(osp.dirname(osp.abspath(log_path)), exist_ok=True)
    cmd = [sys.executable, osp.join(REPO, 'tools', tool), *args]
    bar = tqdm(total=None, desc=desc, unit='it', disable=not show_progress, dynamic_ncols=True, leave=True)
    tool_env = dict(os.environ, PYTHONUNBUFFERED='1', **(env or {}))
    ends_with_this_process = functools.partial(_end_with_parent, os.getpid()) if _LIBC else None
    with open(log_path, 'w') as log, subprocess.Popen(cmd, cwd=cwd, env=tool_env, stdout=subprocess.PIPE,
                                                      stderr=subprocess.STDOUT, text=True,
                                                      preexec_fn=ends_with_this_process) as proc:
        log.write('$ ' + ' '.join(cmd) + '\n')
        for line in proc.stdout:
            log.write(line)
            progress = training_progress(line, max_epochs) if max_epochs else evaluation_progress(line)
            if progress is not None:
                bar.total = progress[1]
                bar.n = progress[0]
                bar.refresh()
        status = proc.wait()
    if status == 0 and bar.total:
        bar.n = bar.total
    bar.close()
    if status != 0:
        with open(log_path) as log:
            tail = ''.join(log.readlines()[-25:])
        raise StageError(f'{desc}: tools/{tool} exited with status {status}; log {log_path}:\n{tail}')


def latest_test_metrics(work_dir: str) -> Dict[str, float]:
    """The metrics a ``tools/test.py`` run wrote to ``<work_dir>/<timestamp>/<timestamp>.json``."""
    candidates: List[str] = sorted(
        path for path in glob.glob(osp.join(work_dir, '*', '*.json'))
        if osp.basename(path)[:-len('.json')] == osp.basename(osp.dirname(path)))
    if not candidates:
        raise FileNotFoundError(f'no test metrics json under {work_dir}/<timestamp>/')
    with open(candidates[-1]) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    return {k: v for k, v in lines[-1].items() if '/' in k}
