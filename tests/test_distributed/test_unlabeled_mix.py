"""Labeled + unlabeled images with a black-box teacher: 2-process gloo DDP, and a resumed run equal to an
uninterrupted one (the RatioSampler's batches depend only on the seed and the epoch)."""
import os.path as osp
import shutil

import pytest
from distributed_helpers import data_root  # noqa: F401  (fixture)
from distributed_helpers import REPO, TrainRun, differing_keys, dist_train, load_state_dict

from det_kd.datasets.unlabeled_images import list_images
from det_kd.models.distillation.teacher_results import write_teacher_results
from det_kd.synthetic import SYNTHETIC_CLASSES

UNLABELED_KD = osp.join(REPO, 'configs', 'kd', 'blackbox_alexnet-w0.25-vgg16-w0.25_unlabeled_12e_synthetic-coco.py')
PROBS = [0.6, 0.1, 0.1, 0.1, 0.05, 0.05]


@pytest.fixture(scope='module')
def mixed(data_root, tmp_path_factory):
    """The data root with ``data/synthetic/unlabeled`` (copies of the 6 training images) and a results file
    that puts one box on every image."""
    synthetic = osp.join(data_root, 'data', 'synthetic')
    unlabeled = osp.join(synthetic, 'unlabeled')
    if not osp.isdir(unlabeled):
        shutil.copytree(osp.join(synthetic, 'coco', 'train'), unlabeled)
    images = [dict(id=i, file_name=name, width=320, height=240) for i, name in enumerate(list_images(synthetic))]
    detections = [dict(image_id=image['id'], bbox=[40, 30, 80, 60], category_id=1, score=0.9, class_probs=PROBS)
                  for image in images]
    results = str(tmp_path_factory.mktemp('teacher') / 'results.json')
    write_teacher_results(results, SYNTHETIC_CLASSES, images, detections)
    return data_root, results


def _config(path: str, results: str, epochs: int) -> str:
    with open(path, 'w') as f:
        f.write(f'_base_ = {UNLABELED_KD!r}\n'
                f"model = dict(teacher=dict(results={results!r}))\n"
                f'train_cfg = dict(max_epochs={epochs}, val_interval={epochs + 1})\n'
                "train_dataloader = dict(num_workers=0)\n"
                'randomness = dict(seed=0, deterministic=True)\n'
                "custom_imports = dict(imports=['det_kd', 'det_kd.engine.hooks.rng_state_hook'], "
                'allow_failed_imports=False)\n'
                "default_hooks = dict(logger=dict(interval=1), rng_state=dict(type='RNGStateHook'))\n")
    return path


def test_two_processes_split_the_mixed_batches(mixed, tmp_path):
    root, results = mixed
    config = _config(str(tmp_path / 'ddp.py'), results, epochs=1)
    output = dist_train(config, str(tmp_path / 'work'), root)
    # 6 labeled images, 1 per batch of 5: 6 batches, 3 per process
    assert 'Epoch(train) [1][3/3]' in output and 'loss_rcn_kd_cls' in output
    assert osp.isfile(str(tmp_path / 'work' / 'epoch_1.pth'))


def test_a_resumed_mixed_run_equals_the_uninterrupted_one(mixed, tmp_path):
    root, results = mixed
    full, first = (str(tmp_path / name) for name in ('full', 'first'))
    two = _config(str(tmp_path / 'two.py'), results, epochs=2)
    # the uninterrupted run and the first epoch are independent: they run side by side (one thread each)
    full_run = TrainRun(two, full, root)
    first_run = TrainRun(_config(str(tmp_path / 'one.py'), results, epochs=1), first, root)
    full_run.finish()
    first_run.finish()
    log = TrainRun(two, first, root, '--resume').finish()
    assert 'resumed epoch: 1' in log
    assert differing_keys(load_state_dict(osp.join(full, 'epoch_2.pth')),
                          load_state_dict(osp.join(first, 'epoch_2.pth'))) == []
