"""One process at a time in a work directory.

Two runs of a tool in one work directory (a second terminal, a restarted script while the first still runs)
train into the same run folders and write over each other's checkpoints and results; nothing else notices,
because each saw the folder free when it started. :func:`work_dir_lock` holds an exclusive ``flock`` on
``<work_dir>/.det_kd.lock`` while a tool runs there: a second process is refused at once, naming the first.
The lock goes with the process (a killed run leaves no stale lock).
"""
import fcntl
import os
import os.path as osp
from contextlib import contextmanager
from typing import Iterator

#: The lock file in a work directory; it holds the name and pid of the tool that has it.
LOCK_NAME = '.det_kd.lock'


class WorkDirBusy(RuntimeError):
    """Another process holds the work directory."""


@contextmanager
def work_dir_lock(work_dir: str, tool: str) -> Iterator[str]:
    """Holds ``work_dir`` for ``tool`` (a name for the message) inside the ``with`` block.

    Raises:
        WorkDirBusy: Another process (or another lock in this one) holds it, naming the holder.
    """
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, LOCK_NAME)
    handle = open(path, 'a+', encoding='utf-8')
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or 'another process'
        handle.close()
        raise WorkDirBusy(f'{work_dir} is in use by {holder}: two runs in one work directory write over each '
                          'other\'s checkpoints and results; wait for it to end or use another --work-dir') from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f'{tool} (pid {os.getpid()})')
        handle.flush()
        yield path
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
