"""A generated dataset and a helper to run the repo's command-line tools, shared by the tool tests."""
import os
import os.path as osp
import subprocess
import sys
import tempfile

import pytest

from det_kd.synthetic import generate_dataset

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NUM_TRAIN = 6


class ToolRun:
    """``tools/<tool>`` started in ``cwd`` without waiting for it, so that independent runs (or the test's own
    work) go on beside it; :meth:`finish` waits for it. Its combined output goes to a temporary file (a pipe
    nobody reads yet could fill up and stall the tool)."""

    def __init__(self, tool, args, cwd):
        self.tool, self.args, self.output = tool, list(args), None
        self.file = tempfile.TemporaryFile('w+', errors='replace')
        env = dict(os.environ, PYTHONUNBUFFERED='1')
        self.proc = subprocess.Popen([sys.executable, osp.join(REPO, 'tools', tool), *self.args], cwd=cwd,
                                     env=env, stdout=self.file, stderr=subprocess.STDOUT)

    def finish(self, returncode=0, timeout=600):
        """Waits for the tool and returns its combined output; fails the test unless it exits with
        ``returncode``."""
        if self.output is None:
            try:
                self.proc.wait(timeout=timeout)
            finally:
                self.stop()  # after a timeout
            self.file.seek(0)
            self.output = self.file.read()
            self.file.close()
        code, tail = self.proc.returncode, self.output[-6000:]
        assert code == returncode, f'{self.tool} {self.args} exited with {code}, not {returncode}:\n{tail}'
        return self.output

    def stop(self):
        """Kills the tool if it still runs (a test that failed before waiting for it)."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def run_tool(tool, args, cwd, returncode=0):
    """Runs ``tools/<tool>`` in ``cwd`` and returns its combined output; fails the test unless it exits with
    ``returncode``."""
    return ToolRun(tool, args, cwd).finish(returncode)


@pytest.fixture(scope='session')
def workspace(tmp_path_factory):
    """A working directory with ``data/synthetic/coco`` (6 train, 4 val images at 320x240)."""
    root = tmp_path_factory.mktemp('workspace')
    generate_dataset(str(root / 'data' / 'synthetic'), num_train=NUM_TRAIN, num_val=4, img_size=(320, 240),
                     seed=0, formats=('coco', ), progress=False)
    return root


TEACHER_CONFIG = osp.join(REPO, 'configs', 'faster_rcnn', 'faster-rcnn_vgg16-w0.25_12e_synthetic-coco.py')
ONE_EPOCH = ['train_cfg.max_epochs=1', 'train_dataloader.batch_size=2', 'default_hooks.logger.interval=1',
             'train_cfg.val_interval=2']


@pytest.fixture(scope='session')
def teacher_checkpoint(workspace):
    """A VGG16-w0.25 teacher trained for one epoch on the workspace data with ``tools/train.py``."""
    work_dir = str(workspace / 'teacher')
    run_tool('train.py', [TEACHER_CONFIG, '--work-dir', work_dir, '--cfg-options', *ONE_EPOCH], cwd=workspace)
    return osp.join(work_dir, 'epoch_1.pth')
