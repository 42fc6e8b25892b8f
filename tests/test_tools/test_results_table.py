"""The demo's results table and metric scaling, on hand-made numbers."""
from det_kd.demo import metric_percent, results_table


def test_metrics_in_percent_whatever_the_metric_reports():
    assert metric_percent('pascal_voc/mAP', 0.125) == 12.5  # mmdet: fractions
    assert metric_percent('coco/bbox_mAP_50', 0.5) == 50.0
    assert metric_percent('kitti/mAP_R40_moderate', 61.5) == 61.5  # det_kd's KittiMetric: percent


def test_results_table_rows_inputs_and_per_seed_gain():
    def runs(*voc):
        return {seed: {'pascal_voc/mAP': v, 'coco/bbox_mAP': v / 2, 'coco/bbox_mAP_50': v}
                for seed, v in enumerate(voc)}

    models = [
        dict(name='teacher', role='teacher', architecture='big', input_size=(320, 240), teacher='-',
             runs=runs(0.30, 0.28), params=2_760_000, latency_ms=41.04),
        dict(name='baseline student', role='baseline', architecture='small', input_size=(160, 120), teacher='-',
             runs=runs(0.10, 0.12), params=860_000, latency_ms=9.5),
        dict(name='distilled student', role='distilled', architecture='small', input_size=(160, 120),
             teacher='big', runs=runs(0.13, 0.14), params=860_000, latency_ms=9.5),
    ]
    lines = results_table(models).splitlines()
    assert lines[0].startswith('| model | architecture | input | teacher | VOC07 mAP@0.5 |')
    assert 'AP@0.75' not in lines[0]  # the runs do not report it
    assert lines[2] == '| teacher | big | 320x240 | - | 29.0 ± 1.4 | 14.5 ± 0.7 | 29.0 ± 1.4 | 2.76 | 41.0 |'
    assert lines[4].startswith('| distilled student | small | 160x120 | big | 13.5 ± 0.7 |')
    assert len(lines) == 5  # the paired gain is det_kd.demo.gain's (tests/test_tools/test_gain.py)


def test_results_table_shows_only_the_metrics_every_run_reports():
    voc_only = {0: {'pascal_voc/mAP': 0.5}}
    models = [dict(name=name, role=name, architecture='a', input_size=(320, 240), teacher='-', runs=voc_only,
                   params=1, latency_ms=1.0) for name in ('teacher', 'baseline')]
    header = results_table(models).splitlines()[0]
    assert 'VOC07 mAP@0.5' in header and 'COCO' not in header
