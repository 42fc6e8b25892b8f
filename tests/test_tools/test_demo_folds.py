"""K-fold evaluation of the demo (det_kd.experiments.folds, demo_folds): the split, the fold datasets of a VOC
folder and a COCO-format config (every labelled image tested once, never trained on in its fold), the refusals,
and the demo over two folds at toy size."""
import argparse
import json
from collections import Counter

import pytest
from conftest import run_tool

from det_kd.experiments.demo_folds import check_fold_arguments, pooled_gains
from det_kd.experiments.folds import fold_datasets, split_into_folds
from det_kd.experiments.stages import StageError
from det_kd.experiments.user_data import config_dataset, voc_dataset
from det_kd.synthetic import generate_dataset

COCO_CONFIG = '''
classes = ('ellipse', 'ring', 'star', 'rectangle', 'pentagon')
pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
            dict(type='Resize', scale=(200, 150), keep_ratio=True), dict(type='PackDetInputs')]
dataset = dict(type='CocoDataset', metainfo=dict(classes=classes), data_root='data/coco/')
train_dataloader = dict(batch_size=2, dataset=dict(dataset, ann_file='annotations/instances_train.json',
                                                   data_prefix=dict(img='train/'), pipeline=pipeline))
test_dataloader = dict(batch_size=1, dataset=dict(dataset, ann_file='annotations/instances_val.json',
                                                  data_prefix=dict(img='val/'), test_mode=True, pipeline=pipeline))
test_evaluator = dict(type='CocoMetric', ann_file='data/coco/annotations/instances_val.json', metric='bbox')
'''


@pytest.fixture(scope='module')
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp('folds')
    generate_dataset(str(root / 'data'), num_train=6, num_val=3, img_size=(200, 150), seed=0, formats=('voc', 'coco'),
                     progress=False)
    return root


def test_split_into_folds_covers_every_item_once():
    parts = split_into_folds(list(range(11)), 3)
    assert sorted(len(p) for p in parts) == [3, 4, 4] and sorted(sum(parts, [])) == list(range(11))
    assert split_into_folds(list(range(11)), 3) == parts  # a fixed shuffle
    with pytest.raises(ValueError, match='give at least 2 folds'):
        split_into_folds([1, 2], 1)
    with pytest.raises(ValueError, match='only 2 labelled images to split'):
        split_into_folds([1, 2], 3)


def test_voc_folds_test_every_image_once_and_never_train_on_it(toy, tmp_path):
    folds = fold_datasets(voc_dataset(str(toy / 'data' / 'voc')), 3, str(tmp_path))
    tested = [line for k in range(3) for line in (tmp_path / f'fold{k}' / 'test.txt').read_text().split()]
    assert sorted(tested) == sorted(set(tested)) and len(tested) == 9  # 6 training + 3 validation images
    for k, fold in enumerate(folds):
        trained = set((tmp_path / f'fold{k}' / 'train.txt').read_text().split())
        assert not trained & set((tmp_path / f'fold{k}' / 'test.txt').read_text().split()) and len(trained) == 6
        assert fold.num_val_images == 3 and fold.classes == folds[0].classes and 'fold' in fold.source


def test_coco_folds_renumber_ids_and_point_the_metric_at_the_fold(toy, tmp_path):
    config = toy / 'coco.py'
    config.write_text(COCO_CONFIG)
    dataset = config_dataset(str(config), str(toy))
    folds = fold_datasets(dataset, 2, str(tmp_path))
    names = Counter()
    for k, fold in enumerate(folds):
        test = json.loads((tmp_path / f'fold{k}' / 'test.json').read_text())
        names.update(image['file_name'] for image in test['images'])
        assert [image['id'] for image in test['images']] == list(range(1, len(test['images']) + 1))
        assert {a['image_id'] for a in test['annotations']} <= {image['id'] for image in test['images']}
        coco = next(e for e in fold.test_evaluator if e['type'] == 'CocoMetric')
        assert coco['ann_file'] == str(tmp_path / f'fold{k}' / 'test.json')
    assert len(names) == 9 and set(names.values()) == {1}


def test_what_folds_refuse():
    args = argparse.Namespace(voc_root=None, data_config=None, teacher_checkpoint=None)
    with pytest.raises(StageError, match='--folds goes with --voc-root or --data-config'):
        check_fold_arguments(args)
    args.voc_root, args.teacher_checkpoint = 'data/voc', 't.pth'
    with pytest.raises(StageError, match='a given --teacher-checkpoint was trained on images that are test images'):
        check_fold_arguments(args)


def test_pooled_gains_pair_every_fold_and_seed_by_hand():
    def record(teacher, baseline, distilled):
        return dict(per_seed=dict(teacher={'pascal_voc/mAP': teacher}, baseline={'pascal_voc/mAP': baseline},
                                  distilled={'pascal_voc/mAP': distilled}), titles=dict(distilled='distilled student'))

    summary = pooled_gains([record([60.0, 62.0], [40.0, 42.0], [45.0, 44.0]),
                            record([58.0, 60.0], [50.0, 48.0], [51.0, 52.0])], seeds=[0, 1])
    assert summary['units'] == ['fold 0 seed 0', 'fold 0 seed 1', 'fold 1 seed 0', 'fold 1 seed 1']
    gain = summary['gains']['distilled']['metrics']['pascal_voc/mAP']
    assert gain['gains'] == {0: 5.0, 1: 2.0, 2: 1.0, 3: 4.0} and gain['mean'] == 3.0 and gain['n'] == 4


def test_the_demo_over_two_folds_at_toy_size(toy):
    work_dir = toy / 'work_dirs' / 'folds'
    out = run_tool('demo.py', ['--voc-root', 'data/voc', '--folds', '2', '--work-dir', str(work_dir), '--epochs', '1',
                               '--latency-runs', '2', '--pictures', '0', '--no-progress'], cwd=toy)
    assert '[demo] 2 folds of 9 labelled images (5, 4 test images; each fold trains on the others)' in out
    table = (work_dir / 'results.md').read_text()
    assert 'fold 0 seed 0; fold 1 seed 0' in table and '## distilled student minus baseline, pooled over' in table
    assert (work_dir / 'fold0' / 'results.md').exists() and (work_dir / 'fold1' / 'seed0' / 'distilled').is_dir()
    record = json.loads((work_dir / 'results.json').read_text())
    assert record['test_images'] == [5, 4] and record['gain']['distilled']['metrics']['pascal_voc/mAP']['n'] == 2
