"""The demo's method screen (det_kd.experiments.method_screen): the names it takes, the configs it builds, and
the ranking with its paired intervals, on hand-made numbers."""
import os.path as osp

import pytest
from conftest import REPO
from scipy import stats

from det_kd.experiments.gain import gain_summary
from det_kd.experiments.method_screen import demo_methods, method_column, ranking, ranking_markdown, role_of

KD = osp.join(REPO, 'configs', 'demo', 'kd_alexnet-w0.25-vgg16-w0.25_hint10-centre_demo.py')


def test_method_names_short_any_case_or_a_config_file():
    assert method_column('paper') == 'all three' and method_column('PKD') == method_column('pkd') == 'PKD'
    assert method_column('paper+cwd') == 'all three + CWD' and method_column('pkd-batch') == 'PKD-batch'
    assert method_column(KD) == KD
    with pytest.raises(ValueError, match="--methods baseline: the baseline student is trained anyway"):
        method_column('baseline')
    with pytest.raises(ValueError, match=r"--methods fgd: 'fgd': not a column.*short names: \['fitnets', 'paper'"):
        method_column('fgd')
    with pytest.raises(ValueError, match='no such config file'):
        method_column('configs/kd/none.py')


def test_methods_are_built_from_the_demos_distillation_config():
    single = demo_methods(KD, None, 24)
    assert [(m.role, m.label, m.config, m.title) for m in single] == [('distilled', '', KD, 'distilled student')]
    paper, pkd = demo_methods(KD, ['paper', 'pkd'], 24)
    assert (paper.role, paper.label, paper.title) == ('distilled-paper', 'paper', 'distilled student (paper)')
    assert paper.config.model.distill.loss_hint.loss_weight == 10.0 and not paper.config.model.distill.get('terms')
    assert pkd.role == 'distilled-pkd' and pkd.config.model.distill.rpn_cls is None
    assert [t['type'] for t in pkd.config.model.distill.terms] == ['PearsonDistillationTerm']
    assert role_of('all three + PKD') == 'distilled-all-three-pkd'
    with pytest.raises(ValueError, match='names a method twice'):
        demo_methods(KD, ['pkd', 'PKD'], 24)
    other_pair = osp.join(REPO, 'configs', 'kd', 'pkd_alexnet-w0.25-vgg16-w0.25_12e_synthetic-coco.py')
    with pytest.raises(ValueError, match='`model.teacher.config` differs'):
        demo_methods(KD, [other_pair], 24)


def test_the_field_methods_demo_configs_are_of_the_demos_pair():
    methods = ['fgd', 'mgd', 'fbkd', 'dist', 'defeat']
    built = demo_methods(KD, [osp.join(REPO, 'configs', 'demo', f'{m}_alexnet-w0.25-vgg16-w0.25_demo.py')
                              for m in methods], 24)
    assert [m.role for m in built] == [f'distilled-{m}-alexnet-w0-25-vgg16-w0-25-demo' for m in methods]
    assert [[t['type'] for t in m.config.model.distill.terms] for m in built] == [
        ['FGDTerm'], ['MGDTerm'], ['FBKDTerm'], ['DISTTerm'], ['DeFeatFeatureTerm', 'DeFeatRoITerm']]
    # the same method for tools/train.py on BCCD: other data and classes, refused with where the demo's are
    bccd = osp.join(REPO, 'configs', 'bccd', 'fgd_alexnet-w0.25-vgg16-w0.25_bccd.py')
    with pytest.raises(ValueError, match=r'differs .*built on its --kd config .*configs/demo/fgd_alexnet'):
        demo_methods(KD, [bccd], 24)


def test_ranking_and_whether_the_lead_is_resolved_by_hand():
    baseline = {0: 10.0, 1: 12.0, 2: 11.0}
    distilled = dict(A={0: 14.0, 1: 15.0, 2: 13.0},  # gains 4, 3, 2
                     B={0: 11.0, 1: 13.0, 2: 12.0},  # gains 1, 1, 1
                     C={0: 9.0, 1: 11.0, 2: 10.0})  # gains -1, -1, -1
    teacher = {'pascal_voc/mAP': 20.0}
    gains = {label: gain_summary({'pascal_voc/mAP': baseline}, {'pascal_voc/mAP': values}, teacher)
             for label, values in distilled.items()}
    assert ranking(gains, 'pascal_voc/mAP') == ['A', 'B', 'C']
    text = ranking_markdown(gains, distilled, 'pascal_voc/mAP')
    rows = [line for line in text.splitlines() if line.startswith('| 1 ') or line.startswith('| 3 ')]
    # A: mean 3, std 1 over 3 seeds: 3 +- t(0.975, 2) / sqrt(3); gap closed (14 - 11) / (20 - 11) = 33 %
    half = stats.t.ppf(0.975, 2) / 3**0.5
    assert rows[0] == f'| 1 | A | 14.0 | +3.0 [{3 - half:+.1f}, {3 + half:+.1f}] | +4.0, +3.0, +2.0 | 33 % |'
    assert rows[1].startswith('| 3 | C | 10.0 | -1.0 [-1.0, -1.0] |')
    # A minus B per seed: 3, 2, 1 (interval includes 0); A minus C: 5, 4, 3 (excludes 0)
    assert f'- A minus B: +2.0 [{2 - half:+.1f}, {2 + half:+.1f}] over 3 seed(s); the interval includes 0' in text
    assert f'- A minus C: +4.0 [{4 - half:+.1f}, {4 + half:+.1f}] over 3 seed(s); the interval excludes 0' in text


def test_a_teacher_below_the_baseline_is_said_in_words():
    from det_kd.experiments.demo_report import weaker_teacher_note

    def runs(teacher, baseline):
        return dict(teacher={0: {'pascal_voc/mAP': teacher}}, baseline={0: {'pascal_voc/mAP': baseline[0]},
                                                                        1: {'pascal_voc/mAP': baseline[1]}})

    note = weaker_teacher_note(runs(0.694, (0.75, 0.756)))
    assert '**The teacher (69.4) scores below the baseline student (75.3).**' in note and 'regulariser' in note
    assert weaker_teacher_note(runs(0.80, (0.75, 0.756))) == ''
