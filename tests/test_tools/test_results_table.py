"""The demo's results table, latency spread and metric scaling, on hand-made numbers."""
from det_kd.experiments import metric_percent, results_table
from det_kd.experiments.results import format_latency, latency_noise_notes, seeds_summary


def latency(median, p10, p90):
    """The latency fields of a ``LatencySummary.to_dict()`` that the table reads."""
    return dict(median_ms=median, p10_ms=p10, p90_ms=p90)


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
             runs=runs(0.30, 0.28), params=2_760_000, latency=latency(41.04, 39.8, 45.1)),
        dict(name='baseline student', role='baseline', architecture='small', input_size=(160, 120), teacher='-',
             runs=runs(0.10, 0.12), params=860_000, latency=latency(22.4, 19.8, 25.1)),
        dict(name='distilled student', role='distilled', architecture='small', input_size=[160, 120],
             teacher='big', runs=runs(0.13, 0.14), params=860_000, latency=latency(18.7, 17.9, 20.2)),
    ]
    lines = results_table(models).splitlines()
    assert lines[0].startswith('| model | architecture | input | teacher | VOC07 mAP@0.5 |')
    assert lines[0].endswith('| params (M) | CPU ms/img, median (p10-p90) |')
    assert 'AP@0.75' not in lines[0]  # the runs do not report it
    assert lines[2] == ('| teacher | big | 320x240 | - | 29.0 ± 1.4 | 14.5 ± 0.7 | 29.0 ± 1.4 | 2.76 | '
                        '41.0 (39.8-45.1) |')
    assert lines[4].startswith('| distilled student | small | 160x120 | big | 13.5 ± 0.7 |')
    # the two students run the same network: 22.4 vs 18.7 ms is noise, said under the table
    assert lines[5:] == ['', 'baseline student vs distilled student (22.4 vs 18.7 ms): same architecture: '
                         'the latency difference is timing noise (their p10-p90 ranges overlap).']
    # the JSON record is keyed by role, as the costs are
    assert set(seeds_summary(models)) == {'teacher', 'baseline', 'distilled'}
    assert seeds_summary(models)['baseline']['pascal_voc/mAP'] == [10.0, 12.0]


def test_latency_is_the_median_and_its_p10_p90_range():
    summary = dict(runs=30, median_ms=22.44, p10_ms=19.81, p90_ms=25.06, mean_ms=23.0, fps=43.5)
    assert format_latency(summary) == '22.4 (19.8-25.1)'


def test_latency_note_only_for_the_same_architecture_and_input():
    def model(name, architecture='small', input_size=(160, 120), spread=(22.4, 19.8, 25.1)):
        return dict(name=name, architecture=architecture, input_size=input_size, latency=latency(*spread))

    assert len(latency_noise_notes([model('a'), model('b', spread=(18.7, 17.9, 20.2))])) == 1
    apart = latency_noise_notes([model('a'), model('b', spread=(15.0, 14.0, 19.7))])  # ranges apart: no speed-up
    assert len(apart) == 1 and 'is not a speed-up: the same network does the same work' in apart[0]
    assert latency_noise_notes([model('a'), model('b', architecture='big')]) == []
    assert latency_noise_notes([model('a'), model('b', input_size=(320, 240))]) == []  # Table 2: a speed-up
    # a method screen: the baseline and every distilled student share one note, the teacher none
    screen = latency_noise_notes([model('teacher', architecture='big'), model('a'),
                                  model('b', spread=(18.7, 17.9, 20.2)),
                                  model('c', spread=(20.0, 19.0, 21.0))])
    assert screen == ['a vs b vs c (22.4 vs 18.7 vs 20.0 ms): same architecture: the latency differences '
                      'are timing noise (their p10-p90 ranges overlap).']
    apart = latency_noise_notes([model('a'), model('b'), model('c', spread=(15.0, 14.0, 19.7))])
    assert len(apart) == 1 and 'differences are not a speed-up' in apart[0]


def test_results_table_shows_only_the_metrics_every_run_reports():
    voc_only = {0: {'pascal_voc/mAP': 0.5}}
    models = [dict(name=name, role=name, architecture='a', input_size=(320, 240), teacher='-', runs=voc_only,
                   params=1, latency=latency(1.0, 0.9, 1.2)) for name in ('teacher', 'baseline')]
    header = results_table(models).splitlines()[0]
    assert 'VOC07 mAP@0.5' in header and 'COCO' not in header
