"""The demo pipeline end to end at a toy size: data, three trainings, tests, export, latency, table, plot."""
import json
import os.path as osp
import shutil

from conftest import REPO, run_tool


def test_demo_runs_end_to_end_at_toy_size_and_resumes(tmp_path):
    work_dir = tmp_path / 'demo'
    args = ['--work-dir', str(work_dir), '--num-train', '4', '--num-val', '2', '--img-size', '160', '120',
            '--epochs', '1', '--latency-runs', '2', '--no-progress']
    out = run_tool('demo.py', args, cwd=tmp_path)
    assert '| teacher |' in out and '| distilled student |' in out and 'Distilled minus baseline' in out
    assert 'CPU ms/img, median (p10-p90) |' in out and 'Over 1 paired seed (' in out
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
    assert 'was started with other settings (epochs, options differ' in changed


def test_demo_runs_the_half_resolution_setting_of_table2(tmp_path):
    """Same architecture; the teacher at 320x240, the student at 160x120 (student_input_scale=0.5)."""
    work_dir = tmp_path / 'table2'
    # config paths relative to the caller's directory (the tools themselves run in the work directory)
    out = run_tool('demo.py', [
        '--work-dir', str(work_dir), '--num-train', '4', '--num-val', '2', '--img-size', '320', '240', '--epochs',
        '1', '--latency-runs', '2', '--no-progress', '--teacher',
        'configs/faster_rcnn/faster-rcnn_alexnet-w0.25_12e_synthetic-coco.py', '--student',
        'configs/resolution/faster-rcnn_alexnet-w0.25_160x120_12e_synthetic-coco.py', '--kd',
        'configs/resolution/kd_alexnet-w0.25-160x120_alexnet-w0.25-320x240_12e_synthetic-coco.py'
    ], cwd=REPO)
    costs = json.loads((work_dir / 'results.json').read_text())['costs']
    assert [costs[role]['input_size'] for role in ('teacher', 'baseline', 'distilled')] == [[320, 240], [160, 120],
                                                                                               [160, 120]]
    assert costs['teacher']['params'] == costs['baseline']['params']  # the same architecture
    assert '| 320x240 |' in out and '| 160x120 |' in out
    kd_log = (work_dir / 'seed0' / 'distilled' / 'train.log').read_text()
    assert 'loss_rpn_kd_cls' in kd_log and 'loss_rcn_kd_cls' in kd_log and 'loss_hint' in kd_log
