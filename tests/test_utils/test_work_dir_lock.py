"""One process per work directory: a second holder is refused, naming the first; the lock ends with its holder."""
import argparse
import subprocess
import sys

import pytest

from det_kd.experiments.demo import run_demo
from det_kd.experiments.stages import StageError
from det_kd.utils.work_dir_lock import LOCK_NAME, WorkDirBusy, work_dir_lock


def test_a_second_holder_is_refused_naming_the_first(tmp_path):
    with work_dir_lock(str(tmp_path / 'run'), 'tools/demo.py') as path:
        assert path.endswith(LOCK_NAME)
        with pytest.raises(WorkDirBusy, match=r'in use by tools/demo.py \(pid \d+\).*another --work-dir'):
            with work_dir_lock(str(tmp_path / 'run'), 'tools/demo.py'):
                pass
    with work_dir_lock(str(tmp_path / 'run'), 'again'):  # released at the end of the block
        pass


def test_another_process_is_refused_and_a_dead_holder_leaves_no_lock(tmp_path):
    hold = ('import sys, time; from det_kd.utils.work_dir_lock import work_dir_lock\n'
            'with work_dir_lock(sys.argv[1], "holder"):\n    print("held", flush=True); time.sleep(60)\n')
    holder = subprocess.Popen([sys.executable, '-c', hold, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'held'
        with pytest.raises(WorkDirBusy, match=r'in use by holder \(pid '):
            with work_dir_lock(str(tmp_path), 'second'):
                pass
    finally:
        holder.kill()
        holder.wait()
    with work_dir_lock(str(tmp_path), 'after the kill'):
        pass


def test_the_demo_refuses_a_work_dir_in_use_before_anything_runs(tmp_path):
    args = argparse.Namespace(work_dir=str(tmp_path / 'demo'))  # nothing else is read before the lock
    (tmp_path / 'demo').mkdir()
    with work_dir_lock(args.work_dir, 'tools/demo.py'):
        with pytest.raises(StageError, match='in use by tools/demo.py'):
            run_demo(args)
