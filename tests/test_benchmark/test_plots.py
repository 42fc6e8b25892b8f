"""Reading metrics from work dirs / JSON files and drawing the accuracy-cost PNG."""
import json

import pytest

from det_kd.benchmark.plots import (PlotPoint, load_benchmark, make_points, plot_accuracy_cost, point_label,
                                   read_metric)

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'


def write_benchmark(path, names_ms_params):
    """A minimal tools/benchmark.py results file."""
    models = [
        dict(name=name, params=params, latency=dict(median_ms=ms)) for name, ms, params in names_ms_params
    ]
    path.write_text(
        json.dumps(dict(settings=dict(input_size=[240, 320]), machine=dict(device='cpu'), models=models)))
    return str(path)


def write_work_dir(root, timestamp, records):
    """``<root>/<timestamp>/vis_data/scalars.json`` in MMEngine's JSON-lines layout."""
    vis = root / timestamp / 'vis_data'
    vis.mkdir(parents=True)
    (vis / 'scalars.json').write_text('\n'.join(json.dumps(r) for r in records) + '\n')
    return str(root)


def test_read_metric_from_work_dir_takes_newest_run_and_last_record(tmp_path):
    work_dir = tmp_path / 'run'
    write_work_dir(work_dir, '20240101_000000', [{'coco/bbox_mAP': 0.1, 'step': 4}])
    write_work_dir(work_dir, '20240102_000000', [{
        'loss': 1.0,
        'step': 1
    }, {
        'coco/bbox_mAP': 0.3,
        'step': 4
    }, {
        'coco/bbox_mAP': 0.4,
        'coco/bbox_mAP_50': 0.7,
        'step': 8
    }, {
        'loss': 0.5,
        'step': 9
    }])
    assert read_metric(str(work_dir)) == pytest.approx(0.4)
    assert read_metric(str(work_dir), 'coco/bbox_mAP_50') == pytest.approx(0.7)
    with pytest.raises(KeyError, match='no record'):
        read_metric(str(work_dir), 'kitti/AP')


def test_read_metric_from_json_and_errors(tmp_path):
    metrics = tmp_path / 'metrics.json'
    metrics.write_text(json.dumps({'pascal_voc/mAP': 0.55, 'pascal_voc/AP50': 0.55}))
    assert read_metric(str(metrics)) == pytest.approx(0.55)
    with pytest.raises(FileNotFoundError, match='not found'):
        read_metric(str(tmp_path / 'missing'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='evaluate the model first'):
        read_metric(str(tmp_path / 'empty'))


def test_plot_writes_png(tmp_path):
    bench = load_benchmark(
        write_benchmark(tmp_path / 'latency.json', [('vgg16', 120.0, 30_000_000),
                                                    ('alexnet', 30.0, 8_000_000)]))
    metrics = {}
    for name, value in (('teacher', 0.5), ('baseline', 0.3), ('distilled', 0.38)):
        metrics[name] = tmp_path / f'{name}.json'
        metrics[name].write_text(json.dumps({'coco/bbox_mAP': value}))
    points = make_points(bench, [('vgg16', 'teacher', str(metrics['teacher'])),
                                 ('alexnet', 'baseline', str(metrics['baseline'])),
                                 ('alexnet', 'distilled', str(metrics['distilled']))])
    assert [p.metric for p in points] == pytest.approx([0.5, 0.3, 0.38])
    out = plot_accuracy_cost(points, str(tmp_path / 'plot.png'), 'coco/bbox_mAP', 'test')
    data = open(out, 'rb').read()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 5000
    with pytest.raises(ValueError, match='role'):
        make_points(bench, [('vgg16', 'student', str(metrics['teacher']))])
    with pytest.raises(KeyError, match='not in the benchmark'):
        make_points(bench, [('resnet', 'teacher', str(metrics['teacher']))])


def test_labels_name_a_distilled_student_once_and_latency_bars_are_read(tmp_path):
    assert point_label(PlotPoint('alexnet', 'distilled', 0.3, 9.0, 1)) == 'alexnet (distilled)'
    assert point_label(PlotPoint('distilled student', 'distilled', 0.3, 9.0, 1)) == 'distilled student'
    assert point_label(PlotPoint('alexnet', 'baseline', 0.3, 9.0, 1)) == 'alexnet'
    path = tmp_path / 'latency.json'
    path.write_text(json.dumps(dict(models=[
        dict(name='vgg16', params=30, latency=dict(median_ms=40.0, p10_ms=38.0, p90_ms=45.0)),
        dict(name='alexnet', params=8, latency=dict(median_ms=20.0, p10_ms=18.0, p90_ms=25.0))])))
    metric = tmp_path / 'metric.json'
    metric.write_text(json.dumps({'pascal_voc/mAP': 0.3}))
    points = make_points(load_benchmark(str(path)), [('vgg16', 'teacher', str(metric)),
                                                     ('alexnet', 'baseline', str(metric)),
                                                     ('alexnet', 'distilled', str(metric))])
    assert [p.latency_range_ms for p in points] == [(38.0, 45.0), (18.0, 25.0), (18.0, 25.0)]
    data = open(plot_accuracy_cost(points, str(tmp_path / 'plot.png')), 'rb').read()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 5000
