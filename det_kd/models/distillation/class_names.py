"""The class names a teacher was trained on, compared with the student's: same names, same order.

Comparing the class *counts* (the RoI heads' ``num_classes``) lets a teacher trained with the same names in
another order, or with other names, teach permuted labels with exit code 0. A teacher's names are known from
its config's training dataset (``metainfo.classes``, else its dataset type's ``METAINFO``) and from its
checkpoint's ``meta.dataset_meta.classes`` (MMEngine's runner saves them), a results file's from its
``classes``; the student's are its training dataset's (``runner.train_dataloader.dataset.metainfo``), which
the model does not know when it is built: the comparison runs at start-up (:mod:`.training_set`).
"""
from typing import Any, Dict, Optional, Sequence, Tuple

from mmengine.config import Config, ConfigDict
from mmdet.registry import DATASETS

from .teacher import config_path

ClassNames = Tuple[str, ...]


def as_class_names(classes: Any) -> Optional[ClassNames]:
    """``classes`` as a tuple of names (None when absent or not a list of names)."""
    if isinstance(classes, str) or not isinstance(classes, (list, tuple)) or not classes:
        return None
    return tuple(str(name) for name in classes)


def dataset_cfg_classes(dataset: Any) -> Optional[ClassNames]:
    """The class names of a dataset config: its ``metainfo.classes``, else its type's ``METAINFO`` (dataset
    wrappers are unwrapped: ``dataset``, the first of ``datasets`` that names classes). None if unknown."""
    while isinstance(dataset, dict):
        metainfo = dataset.get('metainfo') or {}
        classes = as_class_names(metainfo.get('classes')) if isinstance(metainfo, dict) else None
        if classes is not None:
            return classes
        if 'dataset' in dataset:
            dataset = dataset['dataset']
            continue
        if 'datasets' in dataset:
            for member in dataset['datasets']:
                classes = dataset_cfg_classes(member)
                if classes is not None:
                    return classes
            return None
        kind = dataset.get('type')
        try:
            kind = DATASETS.get(kind) if isinstance(kind, str) else kind
        except KeyError:
            return None
        return as_class_names(getattr(kind, 'METAINFO', {}).get('classes')) if kind is not None else None
    return None


def config_classes(config: Any) -> Optional[ClassNames]:
    """The class names of a teacher config's training set (``train_dataloader.dataset``); None when the config
    has no train dataloader (an inline model dict) or its classes cannot be told."""
    if isinstance(config, (dict, ConfigDict)):
        cfg = config
    elif isinstance(config, str):
        cfg = Config.fromfile(config_path(config))
    else:
        return None
    loader = cfg.get('train_dataloader') if 'type' not in cfg else None
    return dataset_cfg_classes(loader.get('dataset')) if isinstance(loader, dict) else None


def checkpoint_classes(meta: Any) -> Optional[ClassNames]:
    """``meta.dataset_meta.classes`` of a checkpoint (None if it records none)."""
    dataset_meta = meta.get('dataset_meta') if isinstance(meta, dict) else None
    return as_class_names(dataset_meta.get('classes')) if isinstance(dataset_meta, dict) else None


def check_same_classes(student: Sequence[str], known: Dict[str, Sequence[str]], where: str) -> None:
    """Raises unless every list of ``known`` (``{what: names}``) is the ``student``'s, name by name in order.

    Raises:
        ValueError: Names the source, both lists and where they first differ.
    """
    student = tuple(student)
    for what, names in known.items():
        names = tuple(names)
        if names == student:
            continue
        if sorted(names) == sorted(student):
            how = 'the same names in another order'
        elif len(names) == len(student):
            how = f'other names for the same count ({sorted(set(names) ^ set(student))} differ)'
        else:
            how = f'{len(names)} classes for the student\'s {len(student)}'
        raise ValueError(f'{where}: {what} was trained on classes {list(names)}, the student trains on '
                         f'{list(student)} ({how}): its scores and labels would teach class k as the student\'s '
                         'class k. Use a teacher of the same classes in the same order (or put the training '
                         'set\'s metainfo classes in that order)')
