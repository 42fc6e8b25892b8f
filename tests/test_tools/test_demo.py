"""The demo pipeline end to end at a toy size: data, three trainings, tests, export, latency, table, plot."""
import json
import os
import os.path as osp
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
from conftest import REPO, ToolRun, run_tool
from mmengine.config import Config

#: A demo at toy size: 4 training and 2 validation images, one epoch.
TOY = ['--num-train', '4', '--num-val', '2', '--img-size', '160', '120', '--epochs', '1', '--latency-runs', '2',
       '--no-progress']


def readme_block(heading: str) -> str:
    """The first bash block of the README section under ``heading``."""
    with open(osp.join(REPO, 'README.md'), encoding='utf-8') as f:
        section = f.read().split(heading + '\n', 1)[1]
    return re.search(r'```bash\n(.*?)```', section, re.S).group(1)


#: The Table 2 setting: same architecture; the teacher at 320x240, the student at 160x120
#: (student_input_scale=0.5). Config paths relative to the caller's directory (the tools themselves run in the
#: work directory).
TABLE2 = [
    '--num-train', '4', '--num-val', '2', '--img-size', '320', '240', '--epochs', '1', '--latency-runs', '2',
    '--no-progress', '--teacher', 'configs/faster_rcnn/faster-rcnn_alexnet-w0.25_12e_synthetic-coco.py',
    '--student', 'configs/resolution/faster-rcnn_alexnet-w0.25_160x120_12e_synthetic-coco.py', '--kd',
    'configs/resolution/kd_alexnet-w0.25-160x120_alexnet-w0.25-320x240_12e_synthetic-coco.py'
]


@pytest.fixture(scope='module')
def demo_runs(tmp_path_factory):
    """The uninterrupted toy demo and the Table 2 demo, started side by side (independent runs, each with its
    own data and work directory): ``{'toy': (folder it runs in, work dir, its arguments, ToolRun), 'table2':
    (work dir, ToolRun)}``; a test takes a run's output with ``finish()``."""
    root = tmp_path_factory.mktemp('toy_demo')
    work_dir = root / 'work_dirs' / 'demo'  # where the README's "Using the demo's models" expects it
    args = ['--work-dir', str(work_dir), *TOY]
    table2 = tmp_path_factory.mktemp('table2') / 'table2'
    runs = dict(toy=(root, work_dir, args, ToolRun('demo.py', args, cwd=root)),
                table2=(table2, ToolRun('demo.py', ['--work-dir', str(table2), *TABLE2], cwd=REPO)))
    yield runs
    for *_, run in runs.values():
        run.stop()


@pytest.fixture(scope='module')
def toy_demo(demo_runs):
    """One uninterrupted toy demo: ``(folder it ran in, work dir, its arguments, its output, its results.json
    as written)``."""
    root, work_dir, args, run = demo_runs['toy']
    out = run.finish()
    return root, work_dir, args, out, json.loads((work_dir / 'results.json').read_text())


def test_demo_runs_end_to_end_at_toy_size_and_resumes(toy_demo):
    tmp_path, work_dir, args, out, _ = toy_demo
    assert '| teacher |' in out and '| distilled student |' in out and 'Distilled minus baseline' in out
    assert 'CPU ms/img, median (p10-p90) |' in out and 'Over 1 paired seed (' in out
    assert 'timing:' not in out  # --no-progress: no bar, the latency stage's neither
    results = json.loads((work_dir / 'results.json').read_text())
    roles = {'teacher', 'baseline', 'distilled'}  # one naming: the roles key every record
    assert set(results['per_seed']) == set(results['costs']) == set(results['titles']) == roles
    for model in results['per_seed'].values():
        assert all(0.0 <= v[0] <= 100.0 for v in model.values())
    voc = results['gain']['metrics']['pascal_voc/mAP']  # the paired deltas with their interval
    assert set(voc['gains']) == {'0'} and {'mean', 'low', 'high', 'n'} <= set(voc)
    environment = results['environment']
    assert {'torch', 'torchvision', 'mmcv', 'mmengine', 'mmdet', 'det_kd', 'cpu_model', 'torch_threads',
            'omp_num_threads'} <= set(environment)
    assert all(len(environment['load_average'][when]) == 3 for when in ('start', 'end'))
    assert all(cost['latency']['p10_ms'] <= cost['latency']['p90_ms'] for cost in results['costs'].values())
    assert results['costs']['teacher']['params'] > results['costs']['baseline']['params']
    # the demo configs resize to fit 256x192 (keep_ratio): the 160x120 images run upscaled
    assert all(cost['input_size'] == [256, 192] for cost in results['costs'].values())
    assert osp.getsize(work_dir / 'accuracy_vs_cost.png') > 10_000
    assert (work_dir / 'results.md').read_text().startswith('# det_kd demo')
    for role in ('teacher', 'baseline', 'distilled'):
        assert (work_dir / 'seed0' / role / 'train.log').exists()
    assert 'pkg_resources' not in out + (work_dir / 'seed0' / 'distilled' / 'train.log').read_text()
    assert (work_dir / 'seed0' / 'distilled' / 'student.pth').exists()
    # the distilled run computed the teacher once per image and augmentation and cached it (the same losses)
    assert f'[demo] teacher: the distilled runs compute the teacher once per image' in out
    cache = work_dir / 'teacher_cache' / 'seed0'
    assert (cache / 'cache.json').is_file() and 1 <= len(list(cache.glob('*/*.pt'))) <= 2 * 4  # flip states
    assert 'Teacher: the distilled runs compute the teacher once' in (work_dir / 'results.md').read_text()
    # the configs it ran, and the commands of every run
    assert sorted(os.listdir(work_dir / 'configs')) == ['baseline.py', 'distilled.py', 'teacher.py']
    teacher_config = (work_dir / 'configs' / 'teacher.py').read_text()
    written = Config.fromfile(str(work_dir / 'configs' / 'teacher.py'))
    assert written.train_cfg.max_epochs == 1
    assert written.data_root == written.test_dataloader.dataset.data_root == f'{work_dir}/data/synthetic/coco'
    assert '[demo] expected time: about' in out
    commands = (work_dir / 'results.md').read_text().split('## Commands of each run')[1]
    assert f'python tools/train.py {work_dir}/configs/distilled.py --work-dir {work_dir}/seed0/distilled' in commands
    assert f'tools/export_student.py {work_dir}/seed0/distilled/epoch_1.pth' in commands

    # The README's "Using the demo's models" commands run as written from a folder that holds tools/ and
    # work_dirs/demo (as the repo root does after the demo).
    os.symlink(osp.join(REPO, 'tools'), tmp_path / 'tools')
    env = dict(os.environ, PATH=osp.dirname(sys.executable) + os.pathsep + os.environ['PATH'], PYTHONUNBUFFERED='1')
    block = readme_block("### Using the demo's models")
    proc = subprocess.run(['bash', '-euo', 'pipefail', '-c', block], cwd=tmp_path, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert proc.stdout.count('pascal_voc/mAP:') == 3  # the three tests
    assert (tmp_path / 'work_dirs' / 'demo_more' / 'seed5' / 'student.pth').exists()
    # distilled from the demo's seed-0 teacher, which distilled.py names
    assert f'{work_dir}/seed0/teacher/epoch_1.pth' in (tmp_path / 'work_dirs' / 'demo_more' / 'seed5' /
                                                       'distilled.py').read_text()

    # A rerun into the same work dir is refused (it would overwrite the checkpoints); --resume reads the
    # finished stages back and only tests again the stage whose test results are gone.
    assert 'already holds a run (tested); pass --resume' in run_tool('demo.py', args, cwd=tmp_path, returncode=1)
    shutil.rmtree(work_dir / 'seed0' / 'baseline' / 'test')
    resumed = run_tool('demo.py', args + ['--resume'], cwd=tmp_path)
    assert 'seed 0 teacher: finished earlier' in resumed and 'seed 0 distilled: finished earlier' in resumed
    assert 'seed 0 baseline: finished earlier' not in resumed
    assert not (work_dir / 'seed0' / 'teacher' / 'train_resumed.log').exists()
    assert json.loads((work_dir / 'results.json').read_text())['per_seed'] == results['per_seed']
    # Other settings for the same stages are refused, naming what differs.
    changed = run_tool('demo.py', [*args[:-4], '2', *args[-3:], '--resume'], cwd=tmp_path, returncode=1)
    assert f'{work_dir}/configs/teacher.py holds another config than' in changed  # and is not overwritten
    assert (work_dir / 'configs' / 'teacher.py').read_text() == teacher_config


def test_demo_killed_after_the_teacher_stage_resumes_to_the_same_table(toy_demo, tmp_path):
    """A demo killed (SIGKILL, the whole process group) once its teacher is trained and tested and its baseline
    has started continues with --resume: the teacher is read back, not trained again, and the table equals
    the uninterrupted run's."""
    *_, uninterrupted = toy_demo
    work_dir = tmp_path / 'demo'
    args = ['--work-dir', str(work_dir), *TOY]
    proc = subprocess.Popen([sys.executable, osp.join(REPO, 'tools', 'demo.py'), *args], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    baseline_started, deadline = work_dir / 'seed0' / 'baseline' / 'stage.json', time.time() + 600
    try:
        while not baseline_started.exists():
            assert proc.poll() is None, f'the demo exited ({proc.returncode}) before its baseline stage started'
            assert time.time() < deadline, 'the demo did not reach its baseline stage in 10 minutes'
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert (work_dir / 'seed0' / 'teacher' / 'test').is_dir() and not (work_dir / 'results.json').exists()

    out = run_tool('demo.py', args + ['--resume'], cwd=tmp_path)
    assert 'seed 0 teacher: finished earlier' in out
    assert not (work_dir / 'seed0' / 'teacher' / 'train_resumed.log').exists()
    resumed = json.loads((work_dir / 'results.json').read_text())
    assert resumed['per_seed'] == uninterrupted['per_seed']
    assert resumed['gain']['metrics'] == uninterrupted['gain']['metrics']


def test_demo_runs_the_half_resolution_setting_of_table2(demo_runs):
    """Same architecture; the teacher at 320x240, the student at 160x120 (student_input_scale=0.5)."""
    work_dir, run = demo_runs['table2']
    out = run.finish()
    costs = json.loads((work_dir / 'results.json').read_text())['costs']
    assert [costs[role]['input_size'] for role in ('teacher', 'baseline', 'distilled')] == [[320, 240], [160, 120],
                                                                                               [160, 120]]
    assert costs['teacher']['params'] == costs['baseline']['params']  # the same architecture
    assert '| 320x240 |' in out and '| 160x120 |' in out
    kd_log = (work_dir / 'seed0' / 'distilled' / 'train.log').read_text()
    assert 'loss_rpn_kd_cls' in kd_log and 'loss_rcn_kd_cls' in kd_log and 'loss_hint' in kd_log


def test_demo_method_screen_at_toy_size(toy_demo, tmp_path):
    """--methods: each method trained on the same seed against the same baseline (the toy demo's teacher
    given), ranked in results.md, every run's config written, the best one drawn and plotted."""
    root, work_dir, *_ = toy_demo
    teacher = work_dir / 'seed0' / 'teacher' / 'epoch_1.pth'
    screen = tmp_path / 'screen'
    out = run_tool('demo.py', ['--work-dir', str(screen), *TOY, '--teacher-checkpoint', str(teacher), '--pictures', '1',
                               '--methods', 'paper', 'pkd'], cwd=tmp_path)
    assert '[demo] methods: paper, PKD, each on the same seeds against the same baselines' in out
    table = (screen / 'results.md').read_text()
    assert '--methods paper pkd`' in table and '\n## Methods ranked\n' in table
    ranked = [line for line in table.split('## Methods ranked')[1].splitlines() if line[:4] in ('| 1 ', '| 2 ')]
    assert sorted(line.split(' | ')[1] for line in ranked) == ['PKD', 'paper']
    assert '### paper minus baseline' in table and '### PKD minus baseline' in table
    assert '| distilled student (paper) |' in table and '| distilled student (PKD) |' in table
    record = json.loads((screen / 'results.json').read_text())
    assert set(record['methods']) == {'distilled-paper', 'distilled-pkd'}
    assert record['best_method'] in ('paper', 'PKD') and set(record['per_seed']) == {
        'teacher', 'baseline', 'distilled-paper', 'distilled-pkd'}
    pkd = Config.fromfile(str(screen / 'configs' / 'distilled-pkd.py'))
    assert [t['type'] for t in pkd.model.distill.terms] == ['PearsonDistillationTerm']
    assert (screen / 'seed0' / 'distilled-pkd' / 'student.pth').exists() and (screen / 'predictions.png').exists()
