"""``tools/slurm_train.sh`` / ``slurm_test.sh`` hand srun MMDetection's arguments and our tools."""
import os
import os.path as osp
import subprocess

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# Records its environment's PYTHONPATH, then one argument per line.
FAKE_SRUN = ('#!/usr/bin/env bash\n'
             'echo "PYTHONPATH=$PYTHONPATH" > "$SRUN_RECORD"\n'
             'printf "%s\\n" "$@" >> "$SRUN_RECORD"\n')


@pytest.fixture
def srun(tmp_path):
    """Puts a fake ``srun`` first on ``PATH``; returns a function running a script and reading srun's argv."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'srun').write_text(FAKE_SRUN)
    (bin_dir / 'srun').chmod(0o755)
    record = str(tmp_path / 'srun_args')

    def run(script, *args, **env):
        environ = dict(os.environ, PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}', SRUN_RECORD=record)
        environ.update(env)
        subprocess.run(['bash', osp.join(REPO, 'tools', script), *args], env=environ, check=True,
                       cwd=str(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(record) as file:
            lines = file.read().splitlines()
        return lines[0], lines[1:]

    return run


def test_slurm_train_runs_our_train_py_on_every_task(srun):
    pythonpath, argv = srun('slurm_train.sh', 'gpu', 'kd', 'configs/kd/x.py', 'work_dirs/x', '--resume',
                            '--cfg-options', 'a=1 b', GPUS='16', SRUN_ARGS='--qos=high --time=1:00:00')
    assert argv[:8] == ['-p', 'gpu', '--job-name=kd', '--gres=gpu:8', '--ntasks=16', '--ntasks-per-node=8',
                        '--cpus-per-task=5', '--kill-on-bad-exit=1']
    assert argv[8:10] == ['--qos=high', '--time=1:00:00']
    assert argv[10:] == ['python', '-u', osp.join(REPO, 'tools', 'train.py'), 'configs/kd/x.py',
                         '--work-dir=work_dirs/x', '--launcher=slurm', '--resume', '--cfg-options', 'a=1 b']
    assert osp.samefile(pythonpath.split('=', 1)[1].split(os.pathsep)[0], REPO)  # det_kd importable


def test_slurm_test_runs_our_test_py_on_every_task(srun):
    _, argv = srun('slurm_test.sh', 'gpu', 'eval', 'configs/kd/x.py', 'x.pth', '--out', 'r.pkl',
                   GPUS_PER_NODE='4')
    assert argv[:8] == ['-p', 'gpu', '--job-name=eval', '--gres=gpu:4', '--ntasks=8', '--ntasks-per-node=4',
                        '--cpus-per-task=5', '--kill-on-bad-exit=1']
    assert argv[8:] == ['python', '-u', osp.join(REPO, 'tools', 'test.py'), 'configs/kd/x.py', 'x.pth',
                        '--launcher=slurm', '--out', 'r.pkl']
