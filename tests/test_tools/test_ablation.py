"""The Table 4 ablation runner at toy size: columns as config overrides or method configs, a failing column
reported, a table."""
import json
import os
import os.path as osp

import pytest
from conftest import ONE_EPOCH, REPO, run_tool

from det_kd.experiments.ablation_columns import PAPER_TABLE4, TABLE4_COLUMNS

KD = osp.join(REPO, 'configs', 'kd', 'kd_alexnet-w0.25-vgg16-w0.25_12e_synthetic-coco.py')
#: a method column: another distillation config of the same pair, its runs and row named by its file
CWD_LABEL = 'cwd_alexnet-w0.25-vgg16-w0.25_12e_synthetic-coco'
CWD = osp.join(REPO, 'configs', 'kd', CWD_LABEL + '.py')
FPN_FGD = osp.join(REPO, 'configs', 'kd', 'fgd_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py')


def test_table4_columns_cover_the_paper():
    assert set(TABLE4_COLUMNS) == set(PAPER_TABLE4)
    assert TABLE4_COLUMNS['Baseline'] is None and TABLE4_COLUMNS['all three'] == {}


def test_ablation_runs_columns_and_reports_the_impossible_one(workspace, teacher_checkpoint):
    work_dir = workspace / 'ablation'
    out = run_tool('ablation.py', [KD, '--teacher-checkpoint', teacher_checkpoint, '--columns', 'Baseline', CWD,
                                   'Hints', '--bootstrap', '50', '--teacher-cache',
                                   '--work-dir', str(work_dir), '--no-progress', '--jobs', '2', '--cfg-options',
                                   *ONE_EPOCH], cwd=workspace)
    record = json.loads((work_dir / 'ablation.json').read_text())
    results = record['results']
    assert len(results[CWD_LABEL]) == 1 and 0.0 <= results[CWD_LABEL][0] <= 100.0
    # the gain is paired with the baseline of the same seed; the bootstrap recomputes both mAPs from the
    # dumped detections, equal to what the test runs reported
    gain = record['gains'][CWD_LABEL]
    voc = gain['metrics']['pascal_voc/mAP']
    assert voc['gains']['0'] == voc['mean'] == results[CWD_LABEL][0] - results['Baseline'][0]
    boot = gain['bootstrap']['0']  # the tool checks its recomputed mAPs against the test runs' (else it fails)
    assert boot['num_samples'] == 50 and boot['gain'] == pytest.approx(voc['mean'], abs=1e-3)
    assert boot['low'] <= boot['high']
    assert f'{CWD_LABEL}: the gain has no interval' in out  # one seed; a method column is named by its file
    # VGG16-w0.25 conv5_3 has 128 channels, AlexNet-w0.25 conv5 64: "Hints" without adaptation cannot run
    assert "adapter='none' needs equal channels" in results['Hints']
    assert f'| {CWD_LABEL} |' in out and '| Hints | n/a' in out and '56.9 / 50.3' in out
    # the teacher tested once with its own config, for the share of the teacher-baseline gap each column closes
    tested = json.loads((work_dir / 'teacher_test' / 'tested.json').read_text())
    assert 0.0 <= tested['metric'] <= 100.0 and tested['checkpoint'] == osp.abspath(teacher_checkpoint)
    gap = tested['metric'] - results['Baseline'][0]
    closed = (results[CWD_LABEL][0] - results['Baseline'][0]) / gap if gap else None
    if tested['metric'] > results['Baseline'][0]:
        assert voc['gap_closed'] == pytest.approx(closed)
    else:  # a teacher no better than the baseline: no gap to close
        assert voc['gap_closed'] is None
    assert f"(its pascal_voc/mAP: {tested['metric']:.1f})" in (work_dir / 'ablation.md').read_text()
    assert f'[ablation] {CWD_LABEL} (seed 0): pascal_voc/mAP' in out  # with 2 jobs: a line per run, no bars
    # --teacher-cache: the distilled run read its teacher from the ablation's one cache
    assert (work_dir / 'teacher_cache' / 'cache.json').is_file() and list((work_dir / 'teacher_cache').glob('*/*.pt'))
    stage = json.loads((work_dir / CWD_LABEL / 'seed0' / 'stage.json').read_text())
    assert 'model.teacher.type=CachedTeacher' in stage['options']
    # tools/paired_gain.py on the same two finished runs gives the same paired gain and bootstrap
    from det_kd.experiments.ablation import student_config
    run_tool('paired_gain.py', [student_config(KD), '--seeds', '0', '--bootstrap', '50',
                                '--baseline', str(work_dir / 'Baseline' / 'seed{seed}'),
                                '--distilled', str(work_dir / CWD_LABEL / 'seed{seed}'),
                                '--out', str(workspace / 'cwd_gain')], cwd=workspace)
    again = json.loads((workspace / 'cwd_gain.json').read_text())['summary']
    assert again['metrics']['pascal_voc/mAP']['gains']['0'] == pytest.approx(voc['gains']['0'])
    assert again['bootstrap']['0']['gain'] == pytest.approx(boot['gain'])
    assert (workspace / 'cwd_gain.md').read_text().startswith('# Distilled minus baseline')


def test_column_configs_switch_the_right_terms():
    from det_kd.experiments.ablation_columns import column_config
    l2 = column_config(KD, 'L2').model.distill
    assert l2['rpn_cls'] is None and l2['loss_hint'] is None and l2['rcn_reg'] == dict(mode='l2')
    cls = column_config(KD, 'CLS').model.distill
    assert cls['rcn_cls'] == dict(bg_weight=1.0) and cls['rpn_reg'] is None
    hints = column_config(KD, 'Hints').model.distill
    assert hints['hints'][0]['adapter'] == 'none' and hints['rcn_cls'] is None


def test_feature_family_columns_use_the_configs_hint_pairs():
    from det_kd.experiments.ablation_columns import ABLATION_COLUMNS, column_config
    assert {'AT', 'CWD', 'PKD', 'all three + AT', 'all three + CWD', 'all three + PKD'} <= set(ABLATION_COLUMNS)
    alone = column_config(KD, 'AT').model.distill
    assert alone['loss_hint'] is None and alone['rpn_cls'] is None and alone['rcn_reg'] is None
    assert alone['terms'] == [dict(type='AttentionTransferTerm', pairs=[dict(student=0, teacher=0, align='pad')])]
    added = column_config(KD, 'all three + PKD').model.distill
    assert 'loss_hint' not in added or added['loss_hint'] is not None  # the paper's terms stay on
    assert added['terms'][0]['type'] == 'PearsonDistillationTerm' and added['terms'][0]['normalize'] == 'image'
    assert column_config(KD, 'PKD-batch').model.distill['terms'][0]['normalize'] == 'batch'
    from mmdet.registry import MODELS
    cfg = column_config(KD, 'all three + CWD').model
    cfg.teacher.checkpoint, cfg.teacher.allow_random_init = None, True
    model = MODELS.build(cfg)
    assert list(model.distill_terms) == ['hint', 'rpn_cls', 'rpn_reg', 'rcn_cls', 'rcn_reg', 'cwd']


def test_fitnets_column_adds_the_stage_hook_for_the_runs_epochs():
    from det_kd.experiments.ablation_columns import column_config
    plain = column_config(KD, 'all three')
    for epochs, hint_epochs in ((None, 2), (24, 4), (3, 1)):  # the config trains 12 epochs: stage 1 is a sixth
        cfg = column_config(KD, 'FitNets-2-stage', epochs)
        assert cfg.custom_hooks[0] == dict(type='FitNetsStagesHook', hint_epochs=hint_epochs)
        assert cfg.custom_hooks[1:] == plain.custom_hooks and cfg.model.distill == plain.model.distill
    fitnets = osp.join(REPO, 'configs', 'kd', 'fitnets_alexnet-w0.25-vgg16-w0.25_12e_synthetic-coco.py')
    hooks = column_config(fitnets, 'FitNets-2-stage', 24).custom_hooks  # a config's own stage hook is replaced
    assert [hook['type'] for hook in hooks].count('FitNetsStagesHook') == 1 and hooks[0]['hint_epochs'] == 4


def test_student_of_a_distillation_config_that_inherits_another_is_the_plain_student():
    from det_kd.experiments.ablation import student_config
    demo = osp.join(REPO, 'configs', 'demo')
    plain = osp.join(demo, 'faster-rcnn_alexnet-w0.25_demo.py')
    # hint10-centre inherits hint3-centre, which inherits the plain student
    assert student_config(osp.join(demo, 'kd_alexnet-w0.25-vgg16-w0.25_hint10-centre_demo.py')) == plain
    assert student_config(osp.join(demo, 'kd_alexnet-w0.25-vgg16-w0.25_demo.py')) == plain


def test_method_columns_are_config_files_of_the_same_pair():
    from det_kd.experiments.ablation import check_method_columns
    from det_kd.experiments.ablation_columns import check_column, column_config, column_label, is_baseline
    assert column_label(CWD) == CWD_LABEL and column_label('CLS-W') == 'CLS-W'
    assert is_baseline('Baseline') and not is_baseline(CWD) and not is_baseline('CLS-W')
    assert column_config(KD, CWD).model.distill['terms'][0]['type'] == 'ChannelWiseDistillationTerm'
    assert check_column(CWD) == CWD and check_column('PKD-batch') == 'PKD-batch'
    with pytest.raises(ValueError, match='no such config file'):
        check_column('configs/kd/missing.py')
    with pytest.raises(ValueError, match="'CWD!': not a column"):
        check_column('CWD!')
    # FGD of the FPN pair cannot pair with the AlexNet <- VGG16 baselines: refused at start-up, naming the key
    with pytest.raises(ValueError, match=r'fgd_r18.*`model\.\w+` differs from .*kd_alexnet'):
        check_method_columns(KD, ['Baseline', CWD, FPN_FGD])
    with pytest.raises(ValueError, match='would both be named'):
        check_method_columns(KD, [CWD, osp.join(osp.dirname(CWD), '.', CWD_LABEL + '.py')])
    check_method_columns(KD, ['Baseline', 'CLS-W', CWD])


def test_the_table_gives_each_columns_share_of_the_backbone_gradient(tmp_path):
    """Each distilled column's terms' shares of the backbone gradient, summed over its terms and averaged over its
    seeds' diagnostics files, in the table; '-' for a column without diagnostics and for the baseline."""
    from argparse import Namespace

    from det_kd.experiments.ablation import ablation_table, gradient_shares, run_folder
    from det_kd.experiments.run_diagnostics import DIAGNOSTICS_FILE

    def diagnostics(column, seed, shares):
        folder = run_folder(str(tmp_path), column, seed)
        os.makedirs(folder, exist_ok=True)
        summary = {f'grad/{term}/backbone_share': dict(mean=share) for term, share in shares.items()}
        summary['grad/hint/0/backbone_share'] = dict(mean=0.9)  # a per-pair quantity: not a term's total
        with open(osp.join(folder, DIAGNOSTICS_FILE), 'w') as f:
            json.dump(dict(summary=summary), f)

    # 'all three + PKD': the label's folder replaces the spaces and the '+'
    diagnostics('all three + PKD', 0, dict(hint=0.5, rcn_cls=0.1, hard=0.4, total=1.0))
    diagnostics('all three + PKD', 1, dict(hint=0.3, rcn_cls=0.1, hard=0.6, total=1.0))
    diagnostics('FGD', 0, dict(fgd=0.01, hard=0.99))
    results = {'Baseline': [10.0, 11.0], 'all three + PKD': [12.0, 12.0], 'FGD': [10.0, 11.0], 'CWD': [11.0, 12.0],
               'Hints': 'cannot run'}
    shares = gradient_shares(results, Namespace(work_dir=str(tmp_path), seeds=[0, 1]))
    assert shares == pytest.approx({'all three + PKD': (0.6 + 0.4) / 2, 'FGD': 0.01})
    rows = {line.split(' | ')[0][2:]: line.split(' | ') for line in ablation_table(results, 'm', {}, shares)
            .splitlines() if line.startswith('| ') and not line.startswith('| column')}
    assert rows['all three + PKD'][5] == '50.0%' and rows['FGD'][5] == '1.0%'
    assert rows['CWD'][5] == '-' and rows['Baseline'][5] == '-' and rows['Hints'][5] == '-'
