"""The benchmark tools end to end on the tiny config at a tiny input size (timing tools as subprocesses)."""
import importlib.util
import json
import os.path as osp

import pytest
from tool_runner import REPO, run_tool

TINY = osp.join(REPO, 'configs', 'faster_rcnn', 'faster-rcnn_tiny-r18_12e_synthetic-coco.py')
KD = osp.join(REPO, 'configs', 'kd', 'kd_alexnet-w0.25-vgg16-w0.25_12e_synthetic-coco.py')


def load_tool(name):
    """Imports ``tools/<name>`` as a module (to call its ``main`` in this process)."""
    spec = importlib.util.spec_from_file_location(name[:-3], osp.join(REPO, 'tools', name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_then_plot(tmp_path):
    args = [TINY, TINY, '--checkpoint', 'none', 'none', '--input-size', '64', '64', '--warmup', '2']
    args += ['--runs', '3', '--threads', '1', '--no-progress', '--out-dir', str(tmp_path), '--name', 'lat']
    run_tool('benchmark.py', args, tmp_path)
    results = json.loads((tmp_path / 'lat.json').read_text())
    names = [row['name'] for row in results['models']]
    assert names == ['faster-rcnn_tiny-r18_12e_synthetic-coco', 'faster-rcnn_tiny-r18_12e_synthetic-coco#2']
    row = results['models'][1]
    assert len(row['times_ms']) == 3 and row['flops'] > 0 and row['latency']['fps'] > 0
    assert results['settings']['reference'] == names[0]
    assert results['machine']['torch_threads'] == 1 and len(results['load_average']['before']) == 3
    assert '| model | params |' in (tmp_path / 'lat.md').read_text()

    metrics = tmp_path / 'metrics.json'
    metrics.write_text(json.dumps({'coco/bbox_mAP': 0.25}))
    out = tmp_path / 'plot.png'
    entries = ['--entry', names[0], 'baseline', str(metrics), '--entry', names[1], 'distilled', str(metrics)]
    load_tool('plot_accuracy_cost.py').main([str(tmp_path / 'lat.json'), *entries, '--out', str(out)])
    assert out.stat().st_size > 0


def test_benchmark_training_on_tiny_models(tmp_path):
    args = [KD, '--student-config', TINY, '--teacher-config', TINY, '--random-teacher', '--cached']
    args += ['--input-size', '64', '64', '--batch-size', '2', '--warmup', '1', '--runs', '2', '--profile-runs', '1', '--threads', '1']
    args += ['--no-progress', '--out-dir', str(tmp_path), '--name', 'cost']
    output = run_tool('benchmark_training.py', args, tmp_path)
    assert '(c) / ((a) + (b))' in output and "With the cached teacher (float32): (c') / (a) =" in output
    results = json.loads((tmp_path / 'cost.json').read_text())
    assert set(results['summaries']) == {'student_step', 'teacher_forward', 'distillation_step',
                                         'cached_teacher_forward', 'cached_distillation_step'}
    assert set(results['ratios']) == {'median', 'mean', 'paired', 'kd_over_student', 'cached_kd_over_student',
                                      'cached_kd_over_student_paired'} and results['ratios']['median'] > 0
    cache = results['settings']['cache']
    assert cache['entries'] == 2 and cache['bytes_per_image'] > 0  # one entry per image of the batch
    assert results['settings']['padded_batch_shape'] == [2, 3, 64, 64]
    totals = {step: values['total'] for step, values in results['breakdown'].items()}
    expected = totals['distillation_step'] - totals['student_step'] - totals['teacher_forward']
    assert results['overhead']['total'] == pytest.approx(expected)


def test_half_precision_options_refuse_the_cpu(tmp_path):
    with pytest.raises(ValueError, match='fp16 needs a CUDA device'):
        load_tool('benchmark.py').main([TINY, '--input-size', '64', '64', '--fp16', '--no-progress'])
    with pytest.raises(ValueError, match='--amp needs a CUDA device'):
        load_tool('benchmark_training.py').main([KD, '--student-config', TINY, '--teacher-config', TINY,
                                                 '--random-teacher', '--amp', '--no-progress'])
