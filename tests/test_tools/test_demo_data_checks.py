"""The demo's data step on a VOC folder checks, before any training, what used to train silently on the wrong
data or fail late, and prints what it counted; the demo never writes over a user's files (issue 29)."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from conftest import run_tool

from det_kd.experiments import StageError
from det_kd.experiments.demo import check_result_files
from det_kd.experiments.results import took_minutes
from det_kd.experiments.user_data import voc_dataset

TOY = ['--epochs', '1', '--latency-runs', '2', '--pictures', '0', '--no-progress']


def _object(name, box, difficult=0):
    x1, y1, x2, y2 = box
    return (f'<object><name>{name}</name><difficult>{difficult}</difficult><bndbox><xmin>{x1}</xmin>'
            f'<ymin>{y1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>')


def make_voc(root, images, splits):
    """A VOC folder: ``images`` maps an id to its objects ``(name, box, difficult)`` (64x48 images),
    ``splits`` a split name to its ids (as written, repeats included)."""
    for sub in ('JPEGImages', 'Annotations', 'ImageSets/Main'):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for image_id, objects in images.items():
        cv2.imwrite(str(root / 'JPEGImages' / f'{image_id}.jpg'), np.full((48, 64, 3), 90, np.uint8))
        (root / 'Annotations' / f'{image_id}.xml').write_text(
            f'<annotation><filename>{image_id}.jpg</filename><size><width>64</width><height>48</height>'
            f'<depth>3</depth></size>{"".join(_object(*o) for o in objects)}</annotation>')
    for split, ids in splits.items():
        (root / 'ImageSets' / 'Main' / f'{split}.txt').write_text(''.join(f'{i}\n' for i in ids))
    return str(root)


CAT, DOG = ('cat', (5, 5, 30, 30)), ('dog', (20, 10, 50, 40))
GOOD = {'a': [CAT, DOG], 'b': [CAT, DOG + (1, )], 'c': [CAT, DOG], 'v': [CAT, DOG]}


def test_a_class_whose_training_boxes_are_all_difficult_is_refused(tmp_path):
    images = dict(GOOD, a=[CAT, DOG + (1, )], c=[CAT, DOG + (1, )])  # every training dog is difficult
    root = make_voc(tmp_path, images, dict(train=['a', 'b', 'c'], val=['v']))
    with pytest.raises(ValueError, match=r"no training box of 'dog' \(3 box\(es\), all marked difficult / crowd, "
                                         r'which training ignores\) is trained on'):
        voc_dataset(root)
    only_cats = voc_dataset(root, classes=['cat'])  # the way out: leave the class out, its objects counted
    assert only_cats.object_counts == {'cat': 3}
    assert any("training objects of classes not listed skipped, not trained on: 'dog' x3" in note
               for note in only_cats.notes)


def test_a_class_with_some_difficult_boxes_is_counted_as_trained_and_ignored(tmp_path):
    dataset = voc_dataset(make_voc(tmp_path, GOOD, dict(train=['a', 'b', 'c'], val=['v'])))
    assert dataset.object_counts == {'cat': 3, 'dog': 2} and dataset.ignored_counts == {'dog': 1}
    assert dataset.counted() == 'cat (3), dog (2 + 1 ignored: difficult / crowd)'
    assert len(dataset.object_sizes) == 5  # the anchor check sees the trained boxes


def test_an_annotation_without_objects_is_counted_and_said(tmp_path):
    dataset = voc_dataset(make_voc(tmp_path, dict(GOOD, empty=[]), dict(train=['a', 'b', 'c', 'empty'], val=['v'])))
    assert dataset.images_left_out == ['empty'] and len(dataset.image_sizes) == 3
    assert dataset.counted().endswith('; 1 training image(s) left out (no object of these classes)')
    assert any('1 training image(s) without any object of the listed classes left out (filter_empty_gt): empty'
               in note for note in dataset.notes)


@pytest.mark.parametrize('split', ['train', 'val'])
def test_duplicate_ids_in_a_split_are_refused_naming_them(tmp_path, split):
    splits = dict(train=['a', 'b', 'c'], val=['v'])
    splits[split] = splits[split] + splits[split][:1] * 2
    with pytest.raises(ValueError, match=rf"ImageSets/Main/{split}.txt lists 1 image id\(s\) more than once: "
                                         rf"\['{splits[split][0]}'\]"):
        voc_dataset(make_voc(tmp_path, GOOD, splits))


def test_boxes_without_area_are_written_into_the_results_notes(tmp_path):
    flipped = ('cat', (30, 5, 5, 30))  # xmin > xmax
    dataset = voc_dataset(make_voc(tmp_path, dict(GOOD, a=[CAT, DOG, flipped], v=[CAT, DOG, flipped]),
                                   dict(train=['a', 'b', 'c'], val=['v'])))
    assert dataset.object_counts == {'cat': 3, 'dog': 2}
    notes = '\n'.join(dataset.notes)
    assert 'train.txt: 1 training box(es) with no area (xmax <= xmin or ymax <= ymin) dropped, not trained on: ' \
           'cat x1' in notes
    assert 'val.txt: 1 validation box(es) with no area (xmax <= xmin or ymax <= ymin) dropped, not evaluated: ' \
           'cat x1' in notes


def test_the_demo_refuses_bad_data_in_its_data_step_before_training(tmp_path):
    images = dict(GOOD, b=[CAT, DOG])
    root = make_voc(tmp_path / 'voc', images, dict(train=['a', 'b', 'c'], val=['v', 'v']))
    work_dir = tmp_path / 'work'
    out = run_tool('demo.py', ['--voc-root', root, '--work-dir', str(work_dir), *TOY], cwd=tmp_path, returncode=1)
    assert "[demo] your data: " in out and "val.txt lists 1 image id(s) more than once: ['v']" in out
    assert not (work_dir / 'seed0').exists() and not (work_dir / 'configs').exists()


@pytest.mark.parametrize('size', [['0', '0'], ['320', '-240']])
def test_an_input_size_under_one_pixel_is_refused_at_argument_parsing(tmp_path, size):
    root = make_voc(tmp_path / 'voc', GOOD, dict(train=['a', 'b', 'c'], val=['v']))
    out = run_tool('demo.py', ['--voc-root', root, '--input-size', *size, '--work-dir', str(tmp_path / 'work')],
                   cwd=tmp_path, returncode=2)
    wrong = next(value for value in size if int(value) < 1)
    assert f'argument --input-size: {wrong}: must be at least 1 pixels' in out
    assert not (tmp_path / 'work').exists()


def test_the_demo_never_writes_over_a_users_results(tmp_path):
    root = make_voc(tmp_path / 'voc', GOOD, dict(train=['a', 'b', 'c'], val=['v']))
    work_dir = tmp_path / 'mine'
    work_dir.mkdir()
    (work_dir / 'results.md').write_text('# my results\n')
    (work_dir / 'results.json').write_text('{"mine": 1}')
    out = run_tool('demo.py', ['--voc-root', root, '--work-dir', str(work_dir), *TOY], cwd=tmp_path, returncode=1)
    assert f'[demo] --work-dir {work_dir} holds results.md, results.json, which no demo wrote' in out
    assert (work_dir / 'results.md').read_text() == '# my results\n'
    assert (work_dir / 'results.json').read_text() == '{"mine": 1}'
    assert sorted(p.name for p in work_dir.iterdir()) == ['results.json', 'results.md']


def test_which_result_files_a_demo_wrote(tmp_path):
    check_result_files(str(tmp_path / 'new'))  # nothing there
    (tmp_path / 'results.md').write_text('# det_kd demo\n\nCommand: ...\n')
    (tmp_path / 'results.json').write_text(json.dumps(dict(args={}, per_seed={}, gain={}, notes={})))
    (tmp_path / 'accuracy_vs_cost.png').write_bytes(b'png')
    check_result_files(str(tmp_path))  # an earlier demo's: the stages decide (--resume)
    (tmp_path / 'results.json').write_text('[1, 2]')
    with pytest.raises(StageError, match=r'holds results.json, which no demo wrote'):
        check_result_files(str(tmp_path))
    picture_only = tmp_path / 'pictures'
    picture_only.mkdir()
    (picture_only / 'predictions.png').write_bytes(b'png')
    with pytest.raises(StageError, match=r'holds predictions.png, which no demo wrote'):
        check_result_files(str(picture_only))
    (picture_only / 'configs').mkdir()
    (picture_only / 'configs' / 'baseline.py').write_text('')
    check_result_files(str(picture_only))  # a demo stopped after drawing, before its results: --resume
    assert osp.isfile(picture_only / 'predictions.png')


def test_the_demo_prints_what_its_data_step_counted(tmp_path):
    """The data line and the warnings come before any training (stopped here by a config of other settings
    that the demo will not overwrite)."""
    flipped = ('cat', (30, 5, 5, 30))
    root = make_voc(tmp_path / 'voc', dict(GOOD, a=[CAT, DOG, flipped], empty=[]),
                    dict(train=['a', 'b', 'c', 'empty'], val=['v']))
    work_dir = tmp_path / 'work'
    (work_dir / 'configs').mkdir(parents=True)
    (work_dir / 'configs' / 'teacher.py').write_text('# another run\n')
    out = run_tool('demo.py', ['--voc-root', root, '--work-dir', str(work_dir), *TOY], cwd=tmp_path, returncode=1)
    assert ('3 training images, 1 validation images; classes (training boxes): cat (3), dog (2 + 1 ignored: '
            'difficult / crowd); 1 training image(s) left out (no object of these classes); input size 64x48') in out
    assert '[demo] warning: ' in out and 'cat x1' in out and 'left out (filter_empty_gt): empty' in out
    assert 'holds another config' in out and not (work_dir / 'seed0').exists()


def test_a_resumed_demo_counts_only_the_minutes_of_its_call():
    assert took_minutes(12.34, resumed=False) == '12.3 minutes'
    assert took_minutes(0.1, resumed=True) == \
        '0.1 minutes in this call (resumed: the runs it read back are not counted)'


def _diagnostics(folder, summary):
    import json
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, 'distillation_diagnostics.json'), 'w') as f:
        json.dump(dict(summary={key: dict(mean=value, last=value, count=1) for key, value in summary.items()},
                       measurements=[], warnings=[]), f)


def test_a_method_that_lost_is_explained_from_its_diagnostics(tmp_path):
    from det_kd.experiments.demo_report import lost_method_advice
    from det_kd.experiments.gain import BOOTSTRAP_METRIC
    from det_kd.experiments.method_screen import DemoMethod

    methods = [DemoMethod('distilled-paper', 'paper', 'x.py'), DemoMethod('distilled-cwd', 'CWD', 'y.py'),
               DemoMethod('distilled-at', 'AT', 'z.py'), DemoMethod('distilled-pkd', 'PKD', 'w.py'),
               DemoMethod('distilled-fgd', 'FGD', 'v.py')]
    gains = {role: dict(metrics={BOOTSTRAP_METRIC: dict(mean=mean)}) for role, mean in (
        ('distilled-paper', -4.0), ('distilled-cwd', 2.0), ('distilled-at', -0.5), ('distilled-pkd', -1.0),
        ('distilled-fgd', -0.1))}
    _diagnostics(tmp_path / 'seed0' / 'distilled-fgd', {  # 1.2 % + 0.6 % of the gradient: too weak to act
        'grad/hard/backbone_share': 1.0, 'grad/fgd/backbone_share': 0.012, 'grad/fgd_global/backbone_share': 0.006})
    for seed, teacher_acc in ((0, 0.06), (1, 0.08)):  # the teacher right on 7 % of the RoIs, the student on 50 %
        _diagnostics(tmp_path / f'seed{seed}' / 'distilled-paper', {
            'rcn/teacher/pos_acc': teacher_acc, 'rcn/student/pos_acc': 0.5, 'rpn/teacher/pos_fg_prob': 0.9,
            'rpn/student/pos_fg_prob': 0.7, 'grad/hard/backbone_share': 0.1, 'grad/hint/backbone_share': 0.98,
            'grad/rcn_kd_cls/backbone_share': 0.05, 'hint/0/fit': 0.05})
    _diagnostics(tmp_path / 'seed0' / 'distilled-at', {'grad/hard/backbone_share': 0.9, 'grad/at/backbone_share': 0.2})
    text = lost_method_advice(str(tmp_path), [0, 1], methods, gains, since=0.0)
    lines = text.strip().splitlines()
    assert lines[0] == '## Why a method lost (from its diagnostics)'
    paper, at, pkd, fgd = lines[2:]
    assert paper.startswith('- **paper** (-4.0, 2 run(s))')
    assert "classifies 7% of the student's positive RoIs right (the student 50%)" in paper
    assert '`rcn_cls=None, rcn_reg=None`' in paper and 'rpn_cls' not in paper  # its RPN side is better
    assert "loss_hint takes 98% of the backbone's gradient (the detection losses 10%)" in paper
    assert 'loss_rcn_kd_cls' not in paper and 'hint 0 fits the teacher map poorly (fit 0.05)' in paper
    assert at.startswith('- **AT** (-0.5, 1 run(s))') and 'no single cause' in at
    assert pkd.startswith('- **PKD** (-1.0)') and 'no diagnostics were recorded' in pkd
    assert ("its terms (loss_fgd, loss_fgd_global) carry 1.8% of the backbone's gradient together (the detection "
            'losses 100%): at these weights it barely distils this pair; raise their weights') in fgd
    assert 'barely distils' not in paper + at  # 98 % and 20 %
    assert 'CWD' not in text
    assert lost_method_advice(str(tmp_path), [0, 1], methods[1:2], gains, since=0.0) == ''
