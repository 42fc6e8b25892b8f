"""The demo pipeline end to end at a toy size: data, three trainings, tests, export, latency, table, plot."""
import json
import os.path as osp

from conftest import run_tool


def test_demo_runs_end_to_end_at_toy_size(tmp_path):
    work_dir = tmp_path / 'demo'
    out = run_tool('demo.py', ['--work-dir', str(work_dir), '--num-train', '4', '--num-val', '2', '--img-size',
                               '160', '120', '--epochs', '1', '--latency-runs', '2', '--no-progress'], cwd=tmp_path)
    assert '| teacher |' in out and '| distilled student |' in out and 'Distilled minus baseline' in out
    results = json.loads((work_dir / 'results.json').read_text())
    assert set(results['per_seed']) == {'teacher', 'baseline student', 'distilled student'}
    for model in results['per_seed'].values():
        assert all(0.0 <= v[0] <= 100.0 for v in model.values())
    assert results['costs']['teacher']['params'] > results['costs']['baseline']['params']
    assert osp.getsize(work_dir / 'accuracy_vs_cost.png') > 10_000
    assert (work_dir / 'results.md').read_text().startswith('# det_kd demo')
    for role in ('teacher', 'baseline', 'distilled'):
        assert (work_dir / 'seed0' / role / 'train.log').exists()
    assert (work_dir / 'seed0' / 'distilled' / 'student.pth').exists()
