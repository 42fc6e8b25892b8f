"""The progress the experiment stages read from the tools' logs (bars with a total for training and test), and
a stopped experiment's tools stopping with it."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from det_kd.experiments.stages import evaluation_progress, training_progress

TRAIN = '12/04 15:42:12 - mmengine - INFO - Epoch(train)  [3][ 40/50]  base_lr: 2.0e-02 lr: 2.0e-02  eta: 0:01:02'
TEST = '12/04 15:42:12 - mmengine - INFO - Epoch(test) [ 10/500]    eta: 0:00:12  time: 0.0262  data_time: 0.0013'


def test_training_progress_counts_iterations_over_all_epochs():
    assert training_progress(TRAIN, max_epochs=24) == (2 * 50 + 40, 24 * 50)
    assert training_progress('Iter(train) [ 300/1000]  lr: 1e-2', max_epochs=1) == (300, 1000)
    assert training_progress(TEST, max_epochs=24) is None


def test_evaluation_progress_counts_test_images():
    assert evaluation_progress(TEST) == (10, 500)
    assert evaluation_progress(TRAIN) is None
    assert evaluation_progress('Epoch(test) [500/500]    pascal_voc/mAP: 0.1220') == (500, 500)


def _alive(pid: int) -> bool:
    try:
        with open(f'/proc/{pid}/stat') as stat:
            return stat.read().split(')')[-1].split()[0] != 'Z'  # a zombie has ended
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='prctl(PR_SET_PDEATHSIG) is Linux')
def test_a_killed_experiment_takes_its_running_tool_with_it(tmp_path):
    tool, pid_file = tmp_path / 'sleeper.py', tmp_path / 'tool.pid'
    tool.write_text(f'import os, time\nopen({str(pid_file)!r}, "w").write(str(os.getpid()))\ntime.sleep(120)\n')
    experiment = subprocess.Popen([sys.executable, '-c', textwrap.dedent(f"""
        from det_kd.experiments.stages import run_tool
        run_tool({str(tool)!r}, [], {str(tmp_path / 'tool.log')!r}, 'sleep', {str(tmp_path)!r}, show_progress=False)
    """)])
    for _ in range(300):
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.1)
    tool_pid = int(pid_file.read_text())
    assert _alive(tool_pid)
    experiment.send_signal(signal.SIGKILL)  # no handler of the experiment's own can run
    experiment.wait()
    for _ in range(100):
        if not _alive(tool_pid):
            break
        time.sleep(0.1)
    else:
        os.kill(tool_pid, signal.SIGKILL)
        pytest.fail('the tool went on running after its experiment was killed')
