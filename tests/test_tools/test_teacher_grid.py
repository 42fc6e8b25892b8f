"""tools/teacher_grid.py: the paper's Table 1 form for any teachers and students, a teacher-assistant chain and
early-stopped distillation, end to end at toy size; the pairs, configs and start-up checks on their own."""
import json
import os.path as osp

import pytest
from conftest import REPO, TEACHER_CONFIG, run_tool
from mmengine.config import Config

from det_kd.experiments import teacher_grid as grid

CONFIGS = osp.join(REPO, 'configs', 'faster_rcnn')
RECIPE = osp.join(REPO, 'configs', 'demo', 'kd_alexnet-w0.25-vgg16-w0.25_hint10-centre_demo.py')


def synthetic(name):
    return osp.join(CONFIGS, f'faster-rcnn_{name}-w0.25_12e_synthetic-coco.py')


def models(**configs):
    return [grid.GridModel(name, synthetic(config)) for name, config in configs.items()]


def test_paper_table_names_and_model_arguments():
    assert grid.paper_name('VGG-M') == 'VGGM' and grid.paper_name('vgg16') == 'VGG16'
    assert grid.paper_map('Tucker', 'VGG16') == 59.4 and grid.paper_map('VGG-M', None) == 59.8
    assert grid.paper_map('AlexNet', 'AlexNet') is None and grid.paper_map('R18', None) is None
    assert grid.parse_model(f'VGG16={TEACHER_CONFIG}') == grid.GridModel('VGG16', TEACHER_CONFIG)
    for bad, message in (('VGG16', 'expected NAME=CONFIG'), ('a/b=' + TEACHER_CONFIG, 'run folders'),
                         ('VGG16=missing.py', 'no such config file')):
        with pytest.raises(ValueError, match=message):
            grid.parse_model(bad)


def test_larger_teachers_give_the_papers_lower_triangle():
    students = models(Tucker='tucker-alexnet', AlexNet='alexnet', VGGM='vggm')
    teachers = models(AlexNet='alexnet', VGGM='vggm', VGG16='vgg16')
    params = {m.name: grid.count_parameters(m.config) for m in [*students, *teachers]}
    pairs = [(s.name, t.name) for s, t in grid.grid_pairs(students, teachers, 'larger', params)]
    assert pairs == [('Tucker', 'AlexNet'), ('Tucker', 'VGGM'), ('Tucker', 'VGG16'), ('AlexNet', 'VGGM'),
                     ('AlexNet', 'VGG16'), ('VGGM', 'VGG16')]
    assert sorted(pairs) == sorted(key for key in grid.PAPER_TABLE1 if key[1] is not None)
    assert len(grid.grid_pairs(students, teachers, 'all', params)) == 9 - 2  # no model teaches itself


def test_pair_config_is_the_student_with_the_recipes_terms_and_an_early_stop(tmp_path, workspace):
    path = grid.write_pair_config(RECIPE, synthetic('tucker-alexnet'), TEACHER_CONFIG, str(tmp_path / 'pair.py'),
                                  str(workspace), stop_fraction=0.25)
    cfg, recipe, student = Config.fromfile(path), Config.fromfile(RECIPE), Config.fromfile(synthetic('tucker-alexnet'))
    assert cfg.model.type == 'KDFasterRCNN' and cfg.model.teacher.config == TEACHER_CONFIG
    assert cfg.model.distill == recipe.model.distill and cfg.model.backbone == student.model.backbone
    schedule = [hook for hook in cfg.custom_hooks if hook['type'] == 'DistillationScheduleHook']
    assert schedule == [dict(type='DistillationScheduleHook', stop_fraction=0.25)]
    assert [h['type'] for h in cfg.custom_hooks] == [h['type'] for h in recipe.custom_hooks]
    assert cfg.train_dataloader.dataset.data_root.startswith(str(workspace))  # data paths made absolute
    with pytest.raises(FileExistsError):  # an earlier pair's config is never overwritten with another
        grid.write_pair_config(RECIPE, synthetic('alexnet'), TEACHER_CONFIG, path, str(workspace))
    with pytest.raises(ValueError, match='one-teacher distillation config'):
        grid.write_pair_config(TEACHER_CONFIG, synthetic('alexnet'), TEACHER_CONFIG, str(tmp_path / 'x.py'),
                               str(workspace))


def test_extra_arms_must_be_pairs_of_the_grid():
    students, teachers = models(AlexNet='alexnet'), models(VGGM='vggm', VGG16='vgg16')
    pairs = [(students[0], teachers[0]), (students[0], teachers[1])]
    args = grid.argparse.Namespace(teachers=teachers, teacher_checkpoints={}, early_stop=[0.5],
                                   early_stop_pair=['AlexNet', 'VGG16'], assistant=None)
    grid.check_extra_arms(args, pairs)
    args.early_stop_pair = ['Tucker', 'VGG16']
    with pytest.raises(ValueError, match='--early-stop-pair Tucker VGG16: not a pair of the grid'):
        grid.check_extra_arms(args, pairs)
    args.early_stop, args.assistant = [], ['VGG16', 'VGGM', 'AlexNet']
    with pytest.raises(ValueError, match='no pair VGGM_from_VGG16'):  # the assistant must itself be distilled
        grid.check_extra_arms(args, pairs)
    args.assistant, args.teacher_checkpoints = None, {'ResNet': 'x.pth'}
    with pytest.raises(ValueError, match=r"--teacher-checkpoint \['ResNet'\]"):
        grid.check_extra_arms(args, pairs)


def fake_runs(values):
    """Runs by seed as run_arms returns them, from {arm: [mAP % per seed]} (no predictions: no bootstrap)."""
    return {arm: {seed: {'pascal_voc/mAP': v / 100} for seed, v in enumerate(per_seed)}
            for arm, per_seed in values.items()}


def _grid_record():
    """A grid's arguments and record from made-up mAPs (3 seeds, an early stop, an assistant chain)."""
    students, teachers = models(Tucker='tucker-alexnet', AlexNet='alexnet'), models(AlexNet='alexnet', VGG16='vgg16')
    pairs = [(students[0], teachers[0]), (students[0], teachers[1]), (students[1], teachers[1])]
    args = grid.argparse.Namespace(students=students, teachers=teachers, metric='pascal_voc/mAP', bootstrap=0,
                                   seeds=[0, 1, 2], early_stop=[0.25], early_stop_pair=['AlexNet', 'VGG16'],
                                   assistant=['VGG16', 'AlexNet', 'Tucker'])
    runs = fake_runs({'Tucker': [10, 11, 12], 'AlexNet': [20, 21, 22], 'Tucker_from_AlexNet': [11, 12, 14],
                      'Tucker_from_VGG16': [13, 14, 15], 'AlexNet_from_VGG16': [22, 24, 23],
                      'AlexNet_from_VGG16_stop25': [23, 24, 26], 'Tucker_from_AlexNet_from_VGG16': [14, 14, 16]})
    teachers_tested = {'AlexNet': {'pascal_voc/mAP': 0.25}, 'VGG16': {'pascal_voc/mAP': 0.30}}
    return args, grid.grid_record(args, pairs, runs, teachers_tested, dict(Tucker=7, AlexNet=8, VGG16=20))


def test_record_and_table_pair_every_arm_by_seed():
    args, record = _grid_record()
    comparisons = record['comparisons']
    gain = comparisons['Tucker_from_VGG16']['metrics']['pascal_voc/mAP']
    assert gain['gains'] == pytest.approx({0: 3, 1: 3, 2: 3}) and gain['mean'] == pytest.approx(3)
    assert gain['gap_closed'] == pytest.approx(3 / (30 - 11))  # (distilled - baseline) / (teacher - baseline)
    # the stronger teacher against the weaker, the early stop against full distillation, the chain against direct
    stronger = comparisons['Tucker_from_VGG16 vs Tucker_from_AlexNet']['metrics']['pascal_voc/mAP']
    assert stronger['gains'] == pytest.approx({0: 2, 1: 2, 2: 1})
    stop = comparisons['AlexNet_from_VGG16_stop25 vs AlexNet_from_VGG16']['metrics']['pascal_voc/mAP']
    assert stop['gains'] == pytest.approx({0: 1, 1: 0, 2: 3})
    chain = comparisons['Tucker_from_AlexNet_from_VGG16 vs Tucker_from_VGG16']['metrics']['pascal_voc/mAP']
    assert chain['gains'] == pytest.approx({0: 1, 1: 0, 2: 1}) and chain['low'] < 0 < chain['high']
    table = grid.grid_table(args, record, {})
    rows = table.splitlines()
    assert rows[2].startswith('| Tucker | - (alone) | 11.0 ± 1.0 |') and rows[2].endswith('| 0.00 M | - | 54.7 |')
    assert any(r.startswith('|  | VGG16 (30.0) | 14.0 ± 1.0 | +3.0 [+3.0, +3.0] | +3.0, +3.0, +3.0 | 16 %')
               and r.endswith('59.4 (+4.7) |') for r in rows)
    assert any('VGG16, stopped at 25% (30.0)' in r and r.endswith('| - |') for r in rows)
    assert any('VGG16 -> AlexNet (assistant)' in r for r in rows)
    assert 'Tucker_from_VGG16 against Tucker_from_AlexNet (paired by seed): +1.7 [' in table
    assert all(r.count('|') == 10 for r in rows if r.startswith('|'))  # 9 cells in every row


def test_diagnostics_of_every_distilled_arm_averaged_over_seeds(tmp_path):
    _, record = _grid_record()
    for seed, teacher_acc in ((0, 0.8), (1, 0.6)):  # seed 2 recorded nothing
        folder = tmp_path / 'Tucker_from_VGG16' / f'seed{seed}'
        folder.mkdir(parents=True)
        summary = {'rcn/teacher/pos_acc': teacher_acc, 'rcn/student/pos_acc': 0.5, 'hint/0/fit': 0.3 + seed / 10,
                   'grad/hint/backbone_share': 0.4}
        (folder / 'distillation_diagnostics.json').write_text(json.dumps(dict(
            summary={key: dict(mean=value, last=0.0, count=3) for key, value in summary.items()})))
    diagnostics = grid.grid_diagnostics(str(tmp_path), record)
    assert list(diagnostics) == ['Tucker_from_VGG16']  # the comparisons between two distilled arms are not runs
    assert diagnostics['Tucker_from_VGG16'] == pytest.approx({
        'rcn/teacher/pos_acc': 0.7, 'rcn/student/pos_acc': 0.5, 'hint/0/fit': 0.35, 'grad/hint/backbone_share': 0.4,
        'runs': 2})
    rows = grid.diagnostics_markdown(diagnostics).splitlines()
    assert rows[-1] == '| Tucker_from_VGG16 | 0.70 | 0.50 | - | - | 0.35 | 0.40 | - | 2 |'
    assert grid.diagnostics_markdown({}) == ''


def test_grid_with_an_assistant_chain_end_to_end(workspace, teacher_checkpoint):
    work_dir = workspace / 'teacher_grid'
    out = run_tool('teacher_grid.py', [
        '--students', f"Tucker={synthetic('tucker-alexnet')}", f"AlexNet={synthetic('alexnet')}",
        '--teachers', f'VGG16={TEACHER_CONFIG}', '--teacher-checkpoint', f'VGG16={teacher_checkpoint}',
        '--assistant', 'VGG16', 'AlexNet', 'Tucker', '--epochs', '1', '--bootstrap', '20', '--latency-runs', '2',
        '--jobs', '2', '--work-dir', str(work_dir), '--no-progress'], cwd=workspace)
    record = json.loads((work_dir / 'teacher_grid.json').read_text())
    assert set(record['comparisons']) == {'Tucker_from_VGG16', 'AlexNet_from_VGG16', 'Tucker_from_AlexNet_from_VGG16',
                                          'Tucker_from_AlexNet_from_VGG16 vs Tucker_from_VGG16'}
    values = record['values']
    gain = record['comparisons']['AlexNet_from_VGG16']['metrics']['pascal_voc/mAP']
    assert gain['gains']['0'] == pytest.approx(values['AlexNet_from_VGG16']['0'] - values['AlexNet']['0'])
    # the bootstrap recomputed both mAPs from the dumped detections (checked against the test runs')
    assert record['comparisons']['AlexNet_from_VGG16']['bootstrap']['0']['num_samples'] == 20
    # the given VGG16 checkpoint was tested, not retrained
    assert (work_dir / 'teacher_VGG16' / 'given' / 'test').is_dir()
    assert not (work_dir / 'teacher_VGG16' / 'seed0').exists()
    # the assistant of seed 0 (AlexNet distilled from VGG16, exported) taught the chain's student of seed 0
    stage = json.loads((work_dir / 'Tucker_from_AlexNet_from_VGG16' / 'seed0' / 'stage.json').read_text())
    assistant = work_dir / 'AlexNet_from_VGG16' / 'seed0' / 'student.pth'
    assert f'model.teacher.checkpoint={assistant}' in stage['options'] and assistant.is_file()
    # every distilled run read its teacher from the cache of that teacher: VGG16's shared by its two students
    caches = work_dir / 'teacher_cache'
    assert sorted(p.name for p in caches.iterdir()) == ['AlexNet_from_VGG16_seed0', 'VGG16']
    assert f"model.teacher.cache_dir={caches / 'AlexNet_from_VGG16_seed0'}" in stage['options']
    assert all((caches / name / 'cache.json').is_file() for name in ('VGG16', 'AlexNet_from_VGG16_seed0'))
    table = (work_dir / 'teacher_grid.md').read_text()
    assert '| Tucker | - (alone) |' in table and '| 54.7 |' in table and '59.4 (+4.7)' in table
    assert 'VGG16 -> AlexNet (assistant)' in table and 'against Tucker_from_VGG16 (paired by seed)' in table
    assert record['latency']['Tucker']['params'] == record['params']['Tucker']
    assert (work_dir / 'teacher_grid.png').stat().st_size > 0 and '| AlexNet | - (alone) |' in out
    assert set(record['diagnostics']) <= {'Tucker_from_VGG16', 'AlexNet_from_VGG16', 'Tucker_from_AlexNet_from_VGG16'}


def test_a_second_grid_in_a_held_work_dir_is_refused_naming_the_first(tmp_path):
    from det_kd.utils.work_dir_lock import work_dir_lock

    work_dir = tmp_path / 'grid'
    with work_dir_lock(str(work_dir), 'tools/teacher_grid.py'):  # as a running grid holds it
        out = run_tool('teacher_grid.py', ['--seeds', '0', '--work-dir', str(work_dir), '--no-progress'],
                       cwd=tmp_path, returncode=1)
    assert f'teacher_grid: {work_dir} is in use by tools/teacher_grid.py (pid' in out
    assert sorted(p.name for p in work_dir.iterdir()) == ['.det_kd.lock']  # nothing was started there
