"""Checks, before the first training iteration, what the training data would silently get wrong."""
import copy

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmdet.registry import DATASETS, HOOKS

from ...datasets.ratio_sampler import check_ratio_loader
from ...datasets.unlabeled_images import UnlabeledImageDataset, check_unlabeled_apart_from, leaf_datasets


@HOOKS.register_module()
class TrainingDataCheckHook(Hook):
    """Refuses, before training starts, a training dataloader that would train with rc 0 on the wrong data:

    - a ``RatioSampler`` whose ``batch_size`` differs from the dataloader's, or under a batch sampler such as
      ``AspectRatioBatchSampler`` (:func:`~det_kd.datasets.ratio_sampler.check_ratio_loader`);
    - an ``UnlabeledImageDataset`` folder that holds images of the validation or test set
      (:func:`~det_kd.datasets.unlabeled_images.check_unlabeled_apart_from`; byte-for-byte copies under another
      path are warned about).

    On in every det_kd config (``configs/_base_/default_runtime.py``, ``default_hooks.data_check``).
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        loader = runner.train_dataloader
        check_ratio_loader(loader, 'train_dataloader')
        if not any(isinstance(leaf, UnlabeledImageDataset) for leaf in leaf_datasets(loader.dataset)):
            return
        evaluated = {}
        if runner.val_loop is not None:
            evaluated['val_dataloader'] = runner.val_loop.dataloader.dataset
        test_cfg = runner.cfg.get('test_dataloader')
        if test_cfg and test_cfg.get('dataset') and (
                not evaluated or test_cfg.get('dataset') != (runner.cfg.get('val_dataloader') or {}).get('dataset')):
            try:
                evaluated['test_dataloader'] = DATASETS.build(copy.deepcopy(test_cfg['dataset']))
            except Exception as error:  # noqa: BLE001  (a test set not at hand while training: say so)
                print_log(f'TrainingDataCheckHook: the unlabeled images were not compared with the test set, which '
                          f'could not be built here ({type(error).__name__}: {error})', logger='current', level=30)
        for warning in check_unlabeled_apart_from(loader.dataset, evaluated):
            print_log(f'TrainingDataCheckHook: {warning}', logger='current', level=30)
