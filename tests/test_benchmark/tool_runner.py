"""Running the benchmark tools as subprocesses."""
import os
import os.path as osp
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def run_tool(tool, args, cwd):
    """Runs ``tools/<tool>`` with ``sys.executable`` in ``cwd``; returns its output, fails on error."""
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    proc = subprocess.run([sys.executable, osp.join(REPO, 'tools', tool), *args],
                          cwd=cwd,
                          env=env,
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, f'{tool} {args} failed:\n{proc.stdout[-6000:]}'
    return proc.stdout
