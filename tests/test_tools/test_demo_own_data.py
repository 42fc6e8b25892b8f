"""The demo on a user's own data: a PASCAL VOC folder (custom classes, under VOC2007/) and a COCO-format
dataset config, at toy size; the choices the demo makes from the data (splits, classes, input size, anchors)."""
import json
import os.path as osp
import subprocess
import sys

import pytest
from conftest import REPO, ToolRun
from mmengine.config import Config

from det_kd.experiments.user_data import default_input_size, voc_dataset, voc_splits
from det_kd.synthetic import generate_dataset

SHAPES = ('ellipse', 'pentagon', 'rectangle', 'ring', 'star')  # the synthetic classes, sorted
BCCD = osp.normpath(osp.join(REPO, '..', 'shared', 'data', 'bccd'))
STUDENT = osp.join(REPO, 'configs', 'demo', 'faster-rcnn_alexnet-w0.25_demo.py')
TOY = ['--epochs', '1', '--latency-runs', '2', '--no-progress']


@pytest.fixture(scope='module')
def toy_data(tmp_path_factory):
    """6 training and 3 validation synthetic images at 200x150 in VOC (``voc/VOC2007``) and COCO layouts."""
    root = tmp_path_factory.mktemp('own_data')
    generate_dataset(str(root / 'data'), num_train=6, num_val=3, img_size=(200, 150), seed=0,
                     formats=('voc', 'coco'), progress=False)
    return root


def make_splits(tmp_path, splits):
    """A VOC devkit folder with only ``ImageSets/Main/<split>.txt`` files of the given image ids."""
    for sub in ('JPEGImages', 'Annotations', 'ImageSets/Main'):
        (tmp_path / sub).mkdir(parents=True)
    for split, ids in splits.items():
        (tmp_path / 'ImageSets' / 'Main' / f'{split}.txt').write_text(''.join(f'{i}\n' for i in ids))
    return str(tmp_path)


def test_voc_splits_prefer_a_test_split_and_never_overlap(tmp_path):
    both = make_splits(tmp_path / 'a', dict(train=['1'], val=['2'], trainval=['1', '2'], test=['3']))
    assert voc_splits(both) == ('trainval', 'test')
    no_test = make_splits(tmp_path / 'b', dict(train=['1'], val=['2'], trainval=['1', '2']))
    assert voc_splits(no_test) == ('train', 'val')  # trainval holds the val images
    assert voc_splits(no_test, val_split='val') == ('train', 'val')
    with pytest.raises(ValueError, match=r"'trainval' and the validation split 'val' share 1 image"):
        voc_splits(no_test, train_split='trainval', val_split='val')
    with pytest.raises(FileNotFoundError, match=r"needs the splits trainval or train and test or val; it has "
                                                r"\['other'\]"):
        voc_splits(make_splits(tmp_path / 'c', dict(other=['1'])))
    with pytest.raises(FileNotFoundError, match='no PASCAL VOC layout'):
        voc_dataset(str(tmp_path / 'nothing'))


def test_voc_dataset_reads_classes_sizes_and_input_size(toy_data):
    dataset = voc_dataset(str(toy_data / 'data' / 'voc'))  # the VOC2007 folder inside is found
    assert dataset.classes == SHAPES and dataset.name == 'voc'
    assert dataset.source.endswith('voc/VOC2007 (train -> val)')
    assert len(dataset.image_sizes) == 6 and dataset.num_val_images == 3
    assert sum(dataset.object_counts.values()) == len(dataset.object_sizes) > 0
    assert default_input_size(dataset) == (200, 150)  # not upscaled
    assert [e['type'] for e in dataset.test_evaluator] == ['VOCMetric', 'CocoMetric']
    only_two = voc_dataset(str(toy_data / 'data' / 'voc'), classes=['ring', 'star'])
    assert only_two.classes == ('ring', 'star') and set(only_two.object_counts) == {'ring', 'star'}


@pytest.mark.skipif(not osp.isdir(BCCD), reason=f'BCCD not found at {BCCD}')
def test_bccd_as_a_voc_folder():
    dataset = voc_dataset(BCCD)
    assert dataset.classes == ('Platelets', 'RBC', 'WBC')  # from the annotations, sorted
    assert dataset.source.endswith('(trainval -> test)') and len(dataset.image_sizes) == 292
    assert dataset.num_val_images == 72 and default_input_size(dataset) == (320, 240)


def test_demo_on_a_voc_folder_with_its_own_classes(toy_data, own_data_demos):
    work_dir, run = own_data_demos['voc']
    out = run.finish()
    assert '[demo] data: PASCAL VOC layout at' in out and 'input size 200x150' in out
    table = (work_dir / 'results.md').read_text()
    assert '| teacher |' in table and '| distilled student |' in table and 'COCO mAP@[.5,.95]' in table
    assert '\n## Anchors\n\n- ' in table and 'at IoU >= 0.7 and match' in table  # the anchor decision
    per_class = table.split('## VOC07 AP per class')[1]
    assert all(f'| {name} |' in per_class for name in SHAPES)
    # mmdet's VOCMetric table under the dataset's names, although the folder is called VOC2007
    test_log = (work_dir / 'seed0' / 'baseline' / 'test.log').read_text()
    assert '| ring ' in test_log and 'aeroplane' not in test_log
    data = json.loads((work_dir / 'results.json').read_text())['data']
    assert data['classes'] == list(SHAPES) and data['input_size'] == [200, 150] and data['num_val'] == 3
    # the picture: ground truth | teacher | baseline | distilled, one row per image, and a file per image
    assert osp.getsize(work_dir / 'predictions.png') > 20_000
    assert len(list((work_dir / 'predictions').glob('*.png'))) == 2
    # the generated configs: the data, the class count, the teacher of the same data; tools/train.py runs them
    distilled = Config.fromfile(str(work_dir / 'configs' / 'distilled.py'))
    assert distilled.model.roi_head.bbox_head.num_classes == 5
    assert distilled.model.teacher.config == str(work_dir / 'configs' / 'teacher.py')
    assert tuple(distilled.train_dataloader.dataset.metainfo.classes) == SHAPES
    rerun = subprocess.run([sys.executable, osp.join(REPO, 'tools', 'train.py'), str(work_dir / 'configs' / 'baseline.py'),
                            '--work-dir', str(toy_data / 'rerun')], cwd=REPO, capture_output=True, text=True,
                           timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert (toy_data / 'rerun' / 'epoch_1.pth').exists()


COCO_CONFIG = '''
classes = ('ellipse', 'ring', 'star', 'rectangle', 'pentagon')
train_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
                  dict(type='Resize', scale=(1000, 600), keep_ratio=True), dict(type='PackDetInputs')]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='Resize', scale=(1000, 600), keep_ratio=True),
                 dict(type='LoadAnnotations', with_bbox=True), dict(type='PackDetInputs')]
dataset = dict(type='CocoDataset', metainfo=dict(classes=classes))
train_dataloader = dict(batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
                        dataset=dict(dataset, ann_file='data/coco/annotations/instances_train.json',
                                     data_prefix=dict(img='data/coco/train/'), pipeline=train_pipeline))
test_dataloader = dict(batch_size=1, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
                       dataset=dict(dataset, ann_file='data/coco/annotations/instances_val.json',
                                    data_prefix=dict(img='data/coco/val/'), test_mode=True, pipeline=test_pipeline))
test_evaluator = dict(type='CocoMetric', ann_file='data/coco/annotations/instances_val.json', metric='bbox')
'''


def coco_config(root, text):
    path = root / 'config.py'
    path.write_text(text)
    return str(path)


@pytest.fixture(scope='module')
def own_data_demos(toy_data):
    """The demo on the VOC folder and the demo on a COCO-format dataset config, started side by side (they
    only read ``toy_data/data`` and write their own work directories): ``{'voc' | 'coco': (work dir,
    ToolRun)}``; a test takes its run's output with ``finish()``."""
    config = toy_data / 'my_coco.py'  # relative paths, no data_root: from the directory the demo runs in
    config.write_text(COCO_CONFIG)
    voc, coco = toy_data / 'work_dirs' / 'voc', toy_data / 'work_dirs' / 'coco'
    voc_args = ['--voc-root', 'data/voc', '--work-dir', str(voc), '--pictures', '2', *TOY]
    coco_args = ['--data-config', 'my_coco.py', '--input-size', '160', '120', '--work-dir', str(coco),
                 '--pictures', '0', *TOY]
    runs = dict(voc=(voc, ToolRun('demo.py', voc_args, cwd=toy_data)),
                coco=(coco, ToolRun('demo.py', coco_args, cwd=toy_data)))
    yield runs
    for _, run in runs.values():
        run.stop()


def test_dataset_configs_the_demo_refuses_or_adjusts(toy_data, tmp_path):
    from det_kd.experiments.user_data import config_dataset, model_config_for
    wrapped = COCO_CONFIG + 'train_dataloader = dict(train_dataloader, dataset=dict(type="RepeatDataset", times=2, ' \
        'dataset=train_dataloader["dataset"]))\n'
    with pytest.raises(ValueError, match='train_dataloader.dataset is a RepeatDataset around other datasets'):
        config_dataset(coco_config(tmp_path, wrapped), str(toy_data))
    same = COCO_CONFIG + 'test_dataloader = dict(test_dataloader, dataset=train_dataloader["dataset"])\n'
    with pytest.raises(ValueError, match=r'the training and test sets share 6 image\(s\)'):
        config_dataset(coco_config(tmp_path, same), str(toy_data))
    voc2012 = COCO_CONFIG + 'test_evaluator = [test_evaluator, dict(type="VOCMetric", eval_mode="area")]\n'
    dataset = config_dataset(coco_config(tmp_path, voc2012), str(toy_data))
    assert [e['type'] for e in dataset.test_evaluator] == ['CocoMetric', 'VOCMetric']
    assert dataset.test_evaluator[1]['eval_mode'] == '11points' and 'was replaced by the VOC07 one' in dataset.notes[0]
    two_classes = COCO_CONFIG.replace("classes = ('ellipse', 'ring', 'star', 'rectangle', 'pentagon')",
                                      "classes = ('ring', 'star')")
    dataset = config_dataset(coco_config(tmp_path, two_classes), str(toy_data))
    assert dataset.classes == ('ring', 'star')
    skipped = next(note for note in dataset.notes if 'does not list' in note)
    assert "'ellipse' x" in skipped and "'pentagon' x" in skipped and "'ring'" not in skipped
    # the demo sets one input size through plain Resize steps, and needs the annotations after the resize
    random_resize = COCO_CONFIG.replace("dict(type='Resize', scale=(1000, 600), keep_ratio=True)",
                                        "dict(type='RandomResize', scale=(1000, 600), ratio_range=(0.8, 1.2))")
    dataset = config_dataset(coco_config(tmp_path, random_resize), str(toy_data))
    with pytest.raises(ValueError, match=r"the training pipeline resizes with \['RandomResize'\]"):
        model_config_for(STUDENT, dataset, (160, 120), keep_user_pipelines=True)
    one_pipeline = COCO_CONFIG + 'test_dataloader["dataset"]["pipeline"] = train_pipeline\n'
    dataset = config_dataset(coco_config(tmp_path, one_pipeline), str(toy_data))
    with pytest.raises(ValueError, match=r'test pipeline must load the annotations \(LoadAnnotations\) after'):
        model_config_for(STUDENT, dataset, (160, 120), keep_user_pipelines=True)
    one_pipeline = COCO_CONFIG + 'train_dataloader["dataset"]["pipeline"] = test_pipeline\n'
    dataset = config_dataset(coco_config(tmp_path, one_pipeline), str(toy_data))
    with pytest.raises(ValueError, match=r'training pipeline must load the annotations \(LoadAnnotations\) before'):
        model_config_for(STUDENT, dataset, (160, 120), keep_user_pipelines=True)


def test_demo_on_a_coco_dataset_config(toy_data, own_data_demos):
    work_dir, run = own_data_demos['coco']
    out = run.finish()
    assert '[demo] data: dataset config' in out and 'input size 160x120' in out
    table = (work_dir / 'results.md').read_text()
    assert 'VOC07 mAP@0.5' in table and 'COCO mAP@[.5,.95]' in table  # a VOCMetric was added to theirs
    assert all(f'| {name} |' in table.split('## VOC07 AP per class')[1] for name in SHAPES)
    baseline = Config.fromfile(str(work_dir / 'configs' / 'baseline.py'))
    assert baseline.test_evaluator[0].ann_file == str(toy_data / 'data/coco/annotations/instances_val.json')
    assert baseline.train_dataloader.dataset.data_prefix.img == str(toy_data / 'data/coco/train')
    assert [tuple(s['scale']) for s in baseline.test_dataloader.dataset.pipeline if s['type'] == 'Resize'] == [(160, 120)]
    assert not (work_dir / 'predictions.png').exists()


def test_demo_names_what_is_wrong_with_the_data(toy_data, tmp_path):
    # both stop at reading the data, having written nothing but their work directories: they run side by side
    # (each in its own: a demo holds its work directory while it runs)
    no_layout = ToolRun('demo.py', ['--voc-root', str(tmp_path), '--work-dir', str(tmp_path / 'x')],
                        cwd=tmp_path)
    same_split = ToolRun('demo.py', ['--voc-root', str(toy_data / 'data' / 'voc'), '--train-split', 'val',
                                     '--work-dir', str(tmp_path / 'y')], cwd=tmp_path)
    out = no_layout.finish(returncode=1)
    assert f'[demo] your data: --voc-root {tmp_path}: no PASCAL VOC layout there' in out
    out = same_split.finish(returncode=1)
    assert "the training split 'val' and the validation split 'val' share 3 image(s)" in out


def test_demo_refuses_own_data_options_without_own_data(tmp_path):
    # both are refused by the argument parser, before anything is written: they run side by side
    classes = ToolRun('demo.py', ['--classes', 'a', '--work-dir', str(tmp_path / 'x')], cwd=tmp_path)
    input_size = ToolRun('demo.py', ['--input-size', '10', '10', '--work-dir', str(tmp_path / 'x')],
                         cwd=tmp_path)
    out = classes.finish(returncode=2)
    assert '--classes goes with --voc-root' in out
    out = input_size.finish(returncode=2)
    assert '--input-size goes with --voc-root or --data-config' in out
