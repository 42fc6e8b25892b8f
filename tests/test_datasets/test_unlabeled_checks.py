"""Unlabeled images and the ratio of sources per batch: settings that used to train with rc 0 on the wrong data
(or fail naming nothing) are refused before training, naming the setting, folder or file (issue 29)."""
import os.path as osp
import shutil
from types import SimpleNamespace
from unittest import mock

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from mmdet.registry import DATASETS
from mmdet.utils import register_all_modules

from det_kd.engine.hooks import TrainingDataCheckHook
from det_kd.synthetic import SYNTHETIC_CLASSES, generate_dataset

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
STUDENT = osp.join(REPO, 'configs', 'faster_rcnn', 'faster-rcnn_alexnet-w0.25_12e_synthetic-coco.py')
UNLABELED_KD = osp.join(REPO, 'configs', 'kd', 'kd_alexnet-w0.25-vgg16-w0.25_unlabeled_12e_synthetic-coco.py')
PACK = dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                                             'flip_direction', 'unlabeled'))
PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
            dict(type='Resize', scale=(160, 120), keep_ratio=True), PACK]


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    """``synthetic/coco`` (6 training, 3 validation images) and ``synthetic/unlabeled`` (copies of the 6
    training images: a folder of its own)."""
    register_all_modules(init_default_scope=True)
    root = tmp_path_factory.mktemp('unlabeled_checks') / 'synthetic'
    generate_dataset(str(root), num_train=6, num_val=3, img_size=(160, 120), seed=0, formats=('coco', ),
                     progress=False)
    shutil.copytree(root / 'coco' / 'train', root / 'unlabeled')
    return root


def labeled(root):
    return dict(type='SyntheticCocoDataset', data_root=f'{root}/coco/', ann_file='annotations/instances_train.json',
                data_prefix=dict(img='train/'), filter_cfg=dict(filter_empty_gt=True), pipeline=PIPELINE)


def unlabeled(folder, pipeline=PIPELINE, **kwargs):
    return dict(type='UnlabeledImageDataset', data_root=f'{folder}/', data_prefix=dict(img=f'{folder}/'),
                metainfo=dict(classes=SYNTHETIC_CLASSES), pipeline=pipeline, **kwargs)


def validation(root):
    return dict(type='SyntheticCocoDataset', data_root=f'{root}/coco/', ann_file='annotations/instances_val.json',
                data_prefix=dict(img='val/'), test_mode=True, pipeline=PIPELINE)


def mixed_loader(root, folder=None, batch_size=5, sampler_batch_size=5, batch_sampler=None, ratio=(1, 4)):
    return dict(batch_size=batch_size, num_workers=0, batch_sampler=batch_sampler,
                sampler=dict(type='RatioSampler', batch_size=sampler_batch_size, source_ratio=list(ratio)),
                dataset=dict(type='ConcatDataset', ignore_keys=['palette'],
                             datasets=[labeled(root), unlabeled(folder or root / 'unlabeled')]))


def check(root, loader_cfg, test=None):
    """``TrainingDataCheckHook.before_train`` on a runner with this training loader, the validation set and
    ``test`` (a dataset config; default: the validation set's)."""
    loader = Runner.build_dataloader(Config(dict(loader=loader_cfg)).loader, seed=0)
    cfg = Config(dict(val_dataloader=dict(dataset=validation(root)), test_dataloader=dict(
        dataset=test or validation(root))))
    val_loop = SimpleNamespace(dataloader=SimpleNamespace(dataset=DATASETS.build(validation(root))))
    runner = SimpleNamespace(train_dataloader=loader, val_loop=val_loop, cfg=cfg)
    TrainingDataCheckHook().before_train(runner)
    return loader


def test_the_hook_is_on_in_the_configs():
    for config in (STUDENT, UNLABELED_KD):
        assert Config.fromfile(config).default_hooks.data_check.type == 'TrainingDataCheckHook'


@pytest.mark.parametrize('loader_batch,sampler_batch', [(4, 5), (5, 2)])
def test_a_ratio_sampler_batch_size_other_than_the_loaders_is_refused(data, loader_batch, sampler_batch):
    loader = Runner.build_dataloader(Config(dict(loader=mixed_loader(data, batch_size=loader_batch,
                                                                     sampler_batch_size=sampler_batch))).loader)
    # what it trained on: the sampler's batches (1 + 4, or 1 + 1 images) cut into other batches, the ratio lost
    mixes = [[sum(i < 6 for i in batch), sum(i >= 6 for i in batch)] for batch in loader.batch_sampler]
    assert loader.sampler.counts == [1, sampler_batch - 1] and any(mix != loader.sampler.counts for mix in mixes)
    with pytest.raises(ValueError, match=rf'train_dataloader.batch_size \({loader_batch}\) differs from train_'
                                         rf'dataloader.sampler.batch_size \({sampler_batch}\) of the RatioSampler'):
        check(data, mixed_loader(data, batch_size=loader_batch, sampler_batch_size=sampler_batch))
    check(data, mixed_loader(data))  # the same sizes pass


def test_a_batch_sampler_left_in_place_is_refused(data):
    with pytest.raises(ValueError, match=r'train_dataloader.batch_sampler is a AspectRatioBatchSampler, which would '
                                         r'regroup them: set train_dataloader.batch_sampler=None'):
        check(data, mixed_loader(data, batch_sampler=dict(type='AspectRatioBatchSampler')))


def test_a_mixed_run_with_a_wrong_batch_size_stops_before_the_first_iteration(data, tmp_path):
    """Through the runner, as tools/train.py builds it from a det_kd config: no iteration, no checkpoint."""
    cfg = Config.fromfile(STUDENT)
    cfg.merge_from_dict(dict(work_dir=str(tmp_path / 'run'), train_cfg=dict(max_epochs=1, val_interval=2),
                             val_dataloader=dict(dataset=validation(data)), val_evaluator=[
                                 dict(type='VOCMetric', metric='mAP', eval_mode='11points')],
                             test_dataloader=dict(dataset=validation(data)), test_evaluator=[
                                 dict(type='VOCMetric', metric='mAP', eval_mode='11points')]))
    cfg.train_dataloader = mixed_loader(data, batch_size=4, sampler_batch_size=5)
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match=r'batch_size \(4\) differs from train_dataloader.sampler.batch_size \(5\)'):
        runner.train()
    assert runner.iter == 0 and not (tmp_path / 'run' / 'epoch_1.pth').exists()


def test_an_unlabeled_folder_with_validation_images_is_refused(data):
    with pytest.raises(ValueError, match=r'UnlabeledImageDataset \(.*coco/val/?\): 3 of its 3 images are images of '
                                         r'val_dataloader'):
        check(data, mixed_loader(data, folder=data / 'coco' / 'val'))
    with pytest.raises(ValueError, match=r'UnlabeledImageDataset \(.*synthetic/?\): 3 of its 15 images are images of '
                                         r'val_dataloader'):  # a folder above the validation images
        check(data, mixed_loader(data, folder=data, ratio=(1, 1)))
    test_set = dict(validation(data), ann_file='annotations/instances_train.json', data_prefix=dict(img='train/'))
    with pytest.raises(ValueError, match=r'6 of its 6 images are images of test_dataloader'):  # other than val
        check(data, mixed_loader(data, folder=data / 'coco' / 'train'), test=test_set)


def test_copies_of_validation_images_are_warned_about(data, tmp_path):
    copies = tmp_path / 'copies'
    shutil.copytree(data / 'coco' / 'val', copies)
    with mock.patch('det_kd.engine.hooks.training_data_check_hook.print_log') as log:
        check(data, mixed_loader(data, folder=copies))
    warning = log.call_args.args[0]
    assert f'({copies}/): 3 of its 3 images have the same bytes as images of val_dataloader' in warning
    with mock.patch('det_kd.engine.hooks.training_data_check_hook.print_log') as log:
        check(data, mixed_loader(data))  # copies of the training images: nothing to say
    assert not log.called


def test_the_unlabeled_mark_must_reach_the_model(data):
    plain = PIPELINE[:-1] + [dict(type='PackDetInputs')]  # mmdet's default meta keys: no 'unlabeled'
    with pytest.raises(ValueError, match=r"UnlabeledImageDataset \(.*unlabeled/?\): the pipeline's PackDetInputs "
                                         r"keeps meta_keys=\(.*\) without 'unlabeled': the mark never reaches the "
                                         'model'):
        DATASETS.build(unlabeled(data / 'unlabeled', plain))
    nested = PIPELINE[:-1] + [dict(type='RandomChoice', transforms=[[dict(type='PackDetInputs')]])]
    with pytest.raises(ValueError, match='without \'unlabeled\''):
        DATASETS.build(unlabeled(data / 'unlabeled', nested))
    assert len(DATASETS.build(unlabeled(data / 'unlabeled', plain, test_mode=True))) == 6  # not trained on
    sample = DATASETS.build(unlabeled(data / 'unlabeled'))[0]
    assert sample['data_samples'].metainfo['unlabeled'] is True
    # the repo's configs keep the mark
    cfg = Config.fromfile(UNLABELED_KD).train_dataloader.dataset.datasets[1]
    DATASETS.build(dict(cfg, data_root=f'{data}/', data_prefix=dict(img='unlabeled/')))


def test_an_unreadable_image_is_named(data, tmp_path):
    folder = tmp_path / 'broken'
    shutil.copytree(data / 'unlabeled', folder)
    jpeg = folder / 'header_only.jpg'
    import cv2
    import numpy as np
    cv2.imwrite(str(jpeg), np.full((40, 60, 3), 128, np.uint8))
    jpeg.write_bytes(jpeg.read_bytes()[:100])  # cut inside the JPEG header
    with pytest.raises(ValueError, match=rf'cannot read the image {jpeg} \(OSError: Truncated File Read\); replace '
                                         'or remove the file'):
        DATASETS.build(unlabeled(folder))

