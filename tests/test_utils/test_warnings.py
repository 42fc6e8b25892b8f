"""Importing det_kd silences MMEngine's ``pkg_resources is deprecated`` warning, and only that one."""
import os
import subprocess
import sys


def test_pkg_resources_warning_silenced_other_warnings_kept():
    code = ('import warnings, det_kd; from mmengine.utils import is_installed; is_installed("mmdet"); '
            'warnings.warn("another warning")')
    proc = subprocess.run([sys.executable, '-c', code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, env=dict(os.environ, OMP_NUM_THREADS='1'), timeout=300)
    assert proc.returncode == 0, proc.stdout
    assert 'pkg_resources' not in proc.stdout and 'UserWarning: another warning' in proc.stdout
