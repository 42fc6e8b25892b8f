"""The demo on a user's own data: a PASCAL VOC folder or any MMDetection dataset config, combined with the
demo pair's model configs without the user writing a config.

:func:`voc_dataset` and :func:`config_dataset` describe the data as a :class:`UserDataset` (its dataloaders and
evaluators with absolute paths, its classes, the sizes of its training images and objects);
:func:`model_config_for` puts it under one of the pair's model configs (the class count, the input size);
:func:`boxes_at_input` gives the training boxes at that input size (for the anchors: :mod:`.anchor_fit`).

Every run reports VOC07 mAP@0.5 (the paired gain and its bootstrap are computed on it) and COCO mAP: a
dataset config without a ``VOCMetric`` gets one, a VOC folder gets a ``CocoMetric`` that builds its ground
truth from the annotations (``ann_file=None``; VOC ``difficult`` objects become COCO crowd regions).
"""
import copy
import glob
import json
import os.path as osp
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.config import Config, ConfigDict

from .run_configs import make_data_paths_absolute

#: The longer side of the default input size (the demo models are small and run on CPUs: BCCD's 640x480
#: images train at 320x240, the synthetic demo at 256x192); smaller images keep their size.
DEFAULT_MAX_SIDE = 320
#: Split names tried, in order, when ``--train-split`` / ``--val-split`` are not given (with a ``test``
#: split the training split may be ``trainval``; with only ``val`` it must be ``train``).
VOC_SPLITS = (('trainval', 'test'), ('train', 'test'), ('train', 'val'))
VOC_METRIC = dict(type='VOCMetric', metric='mAP', eval_mode='11points')
COCO_METRIC = dict(type='CocoMetric', ann_file=None, metric='bbox', proposal_nums=(1, 10, 100))
#: ``PackDetInputs``' default meta keys (mmdet 3.3).
_TEST_META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip', 'flip_direction')


@dataclass
class UserDataset:
    """A user's dataset as the demo trains and evaluates on it.

    Attributes:
        name (str): A short name for titles (the folder or the config file).
        source (str): What it was made from, for the results (``'PASCAL VOC layout at DIR'``, ...).
        classes (tuple): Class names, in label order.
        train_dataloader (dict): MMDetection ``train_dataloader`` (absolute paths).
        test_dataloader (dict): ``val_dataloader`` / ``test_dataloader`` (absolute paths).
        test_evaluator (list): Evaluators of validation and test runs.
        image_sizes (np.ndarray): ``(N, 2)`` width and height of the training images.
        object_shapes (np.ndarray): ``(M, 2)`` width and height of each training box, in pixels of the
            original images.
        object_image_sizes (np.ndarray): ``(M, 2)`` width and height of the image of each training box (0 when
            the annotations give none).
        object_labels (np.ndarray): ``(M,)`` class index of each training box.
        object_counts (dict): Training boxes per class name that the models learn from.
        ignored_counts (dict): Training boxes per class name that training ignores (VOC ``difficult``, COCO
            ``iscrowd``), only classes with some.
        images_left_out (list): Ids of the training images the dataset's filter leaves out (no object of the
            listed classes); read from datasets that record them (``CustomVOCDataset``).
        num_val_images (int): Images of the validation / test split.
        notes (list): What the demo changed in the user's settings or found in the data, said in the results.
    """
    name: str
    source: str
    classes: tuple
    train_dataloader: dict
    test_dataloader: dict
    test_evaluator: list
    image_sizes: np.ndarray
    object_shapes: np.ndarray
    object_image_sizes: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    object_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    object_counts: Dict[str, int] = field(default_factory=dict)
    ignored_counts: Dict[str, int] = field(default_factory=dict)
    images_left_out: List[str] = field(default_factory=list)
    num_val_images: int = 0
    notes: List[str] = field(default_factory=list)

    @property
    def object_sizes(self) -> np.ndarray:
        """``(M,)`` square root of the area of each training box, in pixels of the original images."""
        return np.sqrt(self.object_shapes.prod(axis=1))

    def counted(self) -> str:
        """What the data step counted, for the demo's data line: the training boxes per class (trained, and
        ignored ones), the training images left out."""
        text = ', '.join(f'{name} ({count}' + (f' + {self.ignored_counts[name]} ignored: difficult / crowd'
                                                if self.ignored_counts.get(name) else '') + ')'
                         for name, count in self.object_counts.items())
        if self.images_left_out:
            text += f'; {len(self.images_left_out)} training image(s) left out (no object of these classes)'
        return text


def step_type(step: dict) -> str:
    """A pipeline step's or evaluator's type without a registry scope (``mmdet.Resize`` -> ``Resize``)."""
    return str(step.get('type', '')).split('.')[-1]


def _voc_devkit(root: str) -> str:
    """The folder holding ``JPEGImages/``, ``Annotations/`` and ``ImageSets/Main/``: ``root`` or
    ``root/VOC2007``."""
    for candidate in (root, osp.join(root, 'VOC2007')):
        if all(osp.isdir(osp.join(candidate, sub)) for sub in ('JPEGImages', 'Annotations', 'ImageSets/Main')):
            return candidate
    raise FileNotFoundError(f'--voc-root {root}: no PASCAL VOC layout there or in {osp.join(root, "VOC2007")} '
                            '(JPEGImages/, Annotations/ and ImageSets/Main/*.txt)')


def _read_split(devkit: str, split: str) -> List[str]:
    """The image ids of ``ImageSets/Main/<split>.txt``.

    Raises:
        ValueError: The file lists no image, or an image twice (its predictions could not be paired with the
            other models' for the bootstrap, and a training image would count twice), naming the ids.
    """
    path = osp.join(devkit, 'ImageSets', 'Main', f'{split}.txt')
    with open(path, encoding='utf-8') as f:
        ids = [line.split()[0] for line in f if line.strip()]
    if not ids:
        raise ValueError(f'{path} lists no image')
    repeated = sorted(image_id for image_id, count in Counter(ids).items() if count > 1)
    if repeated:
        raise ValueError(f'{path} lists {len(repeated)} image id(s) more than once: {repeated[:10]}'
                         f'{" ..." if len(repeated) > 10 else ""}; list each image once')
    return ids


def voc_splits(devkit: str, train_split: Optional[str] = None, val_split: Optional[str] = None) -> Tuple[str, str]:
    """The training and validation splits: the given ones, else the first pair of :data:`VOC_SPLITS` (with
    the given one in its place) that the folder has and whose images do not overlap.

    Raises:
        FileNotFoundError: No such pair of split files, naming the splits the folder has.
        ValueError: The chosen splits share images (the validation images would be trained on).
    """
    have = sorted(osp.basename(p)[:-4] for p in glob.glob(osp.join(devkit, 'ImageSets', 'Main', '*.txt')))
    candidates = list(dict.fromkeys((train_split or train, val_split or val) for train, val in VOC_SPLITS))
    present = [(train, val) for train, val in candidates if train in have and val in have]
    if not present:
        wanted = f'--train-split {train_split}' if train_split else 'trainval or train'
        wanted += f' and --val-split {val_split}' if val_split else ' and test or val'
        raise FileNotFoundError(f'{devkit}/ImageSets/Main: needs the splits {wanted}; it has {have}')
    overlapping = []
    for train, val in present:
        overlap = set(_read_split(devkit, train)) & set(_read_split(devkit, val))
        if not overlap:
            return train, val
        overlapping.append((train, val, overlap))
    train, val, overlap = overlapping[0]
    raise ValueError(f'{devkit}: the training split {train!r} and the validation split {val!r} share '
                     f'{len(overlap)} image(s) (e.g. {sorted(overlap)[:3]}): pick splits that do not overlap '
                     '(--train-split / --val-split)')


def voc_class_names(devkit: str, splits: Sequence[str]) -> tuple:
    """The object names of the annotations of ``splits``, sorted.

    Raises:
        ValueError: An annotation file is missing or is not valid XML, naming it; no object at all.
    """
    names = Counter()
    for split in splits:
        for image_id in _read_split(devkit, split):
            path = osp.join(devkit, 'Annotations', f'{image_id}.xml')
            try:
                tree = ET.parse(path)
            except (OSError, ET.ParseError) as error:
                raise ValueError(f'{path}: cannot read the annotation ({error})') from error
            names.update(obj.findtext('name', '') for obj in tree.getroot().iter('object'))  # as mmdet reads them
    names.pop('', None)
    if not names:
        raise ValueError(f'{devkit}: the annotations of {list(splits)} hold no <object>')
    return tuple(sorted(names))


def voc_dataset(root: str, classes: Optional[Sequence[str]] = None, train_split: Optional[str] = None,
                val_split: Optional[str] = None) -> UserDataset:
    """A PASCAL VOC folder (at ``root`` or ``root/VOC2007``) as a :class:`UserDataset` read by det_kd's
    ``CustomVOCDataset`` (own class names in every metric table, unlisted classes reported by name and count,
    boxes without area dropped with a count)."""
    devkit = _voc_devkit(osp.abspath(root))
    train, val = voc_splits(devkit, train_split, val_split)
    classes = tuple(classes) if classes else voc_class_names(devkit, (train, val))

    def dataset(split: str, test_mode: bool) -> dict:
        return dict(type='CustomVOCDataset', data_root=devkit + '/', ann_file=f'ImageSets/Main/{split}.txt',
                    data_prefix=dict(sub_data_root=''), metainfo=dict(classes=classes), test_mode=test_mode,
                    backend_args=None,
                    **({} if test_mode else dict(filter_cfg=dict(filter_empty_gt=True, min_size=0))))

    train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                            sampler=dict(type='DefaultSampler', shuffle=True),
                            batch_sampler=dict(type='AspectRatioBatchSampler'), dataset=dataset(train, False))
    test_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False, drop_last=False,
                           sampler=dict(type='DefaultSampler', shuffle=False), dataset=dataset(val, True))
    return describe_dataset(osp.basename(osp.abspath(root).rstrip('/')),
                            f'PASCAL VOC layout at {devkit} ({train} -> {val})', train_dataloader, test_dataloader,
                            [dict(VOC_METRIC), dict(COCO_METRIC)])


def config_dataset(path: str, data_dir: str) -> UserDataset:
    """The dataloaders and evaluators of an MMDetection dataset config (COCO, ``KittiDataset``, custom) as a
    :class:`UserDataset`; relative data paths are taken relative to ``data_dir`` (where the user runs the
    demo). A ``VOCMetric`` (VOC07, 11 points) is added where the evaluators have none.

    Raises:
        KeyError: The config lacks ``train_dataloader`` or a test / validation dataloader or evaluator.
    """
    cfg = Config.fromfile(path)
    for name in ('train_dataloader', ('test_dataloader', 'val_dataloader'), ('test_evaluator', 'val_evaluator')):
        names = (name, ) if isinstance(name, str) else name
        if not any(cfg.get(n) for n in names):
            raise KeyError(f'--data-config {path}: defines no {" or ".join(names)}')
    make_data_paths_absolute(cfg, data_dir)
    test_key = 'test_dataloader' if cfg.get('test_dataloader') else 'val_dataloader'
    for key in ('train_dataloader', test_key):
        dataset = cfg[key].dataset
        if 'dataset' in dataset or 'datasets' in dataset:
            raise ValueError(f'--data-config {path}: {key}.dataset is a {dataset.get("type")} around other datasets: '
                             'give the dataset itself (the demo sets the pipelines and the schedule)')
    evaluators = cfg.get('test_evaluator') or cfg.val_evaluator
    evaluators = [e.to_dict() if isinstance(e, ConfigDict) else dict(e)
                  for e in (evaluators if isinstance(evaluators, (list, tuple)) else [evaluators])]
    notes = [f'your {step_type(e)} {e} was replaced by the VOC07 one (11 points, IoU 0.5): the paired gain and its '
             'bootstrap are computed on VOC07 mAP@0.5' for e in evaluators
             if step_type(e) == 'VOCMetric' and (e.get('eval_mode', 'area') != '11points' or
                                                 e.get('iou_thrs', 0.5) not in (0.5, [0.5], (0.5, )))]
    evaluators = [e for e in evaluators if step_type(e) != 'VOCMetric'] + [dict(VOC_METRIC)]
    dataset = describe_dataset(osp.splitext(osp.basename(path))[0], f'dataset config {osp.abspath(path)}',
                               cfg.train_dataloader.to_dict(), cfg[test_key].to_dict(), evaluators)
    dataset.notes += notes + unlisted_coco_classes(cfg.train_dataloader.dataset, dataset.classes)
    return dataset


def unlisted_coco_classes(dataset_cfg: dict, classes: Sequence[str]) -> List[str]:
    """A note naming, with their counts, the categories of a COCO-format annotation file that ``classes`` does
    not list (MMDetection's ``CocoDataset`` skips their boxes without a word); empty for other formats."""
    ann_file = dataset_cfg.get('ann_file', '')
    if not str(ann_file).endswith('.json'):
        return []
    path = osp.join(dataset_cfg.get('data_root') or '', ann_file)
    with open(path, encoding='utf-8') as f:
        coco = json.load(f)
    names = {category['id']: category['name'] for category in coco.get('categories', [])}
    skipped = Counter(names.get(a['category_id'], str(a['category_id'])) for a in coco.get('annotations', [])
                      if names.get(a['category_id']) not in classes)
    if not skipped:
        return []
    listed = ', '.join(f'{name!r} x{count}' for name, count in sorted(skipped.items()))
    return [f'{path} holds boxes of classes the config does not list, not trained on: {listed}']


def describe_dataset(name: str, source: str, train_dataloader: dict, test_dataloader: dict,
                     evaluators: list) -> UserDataset:
    """Builds both datasets (without their pipelines) to read the classes, the split sizes and the training
    images' and boxes' sizes."""
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules

    import det_kd  # noqa: F401  (registers CustomVOCDataset, KittiDataset)
    register_all_modules(init_default_scope=True)

    def build(loader: dict):
        return DATASETS.build(dict(copy.deepcopy(loader['dataset']), pipeline=[]))

    train, test = build(train_dataloader), build(test_dataloader)
    shared = ({osp.normpath(train.get_data_info(i)['img_path']) for i in range(len(train))} &
              {osp.normpath(test.get_data_info(i)['img_path']) for i in range(len(test))})
    if shared:
        raise ValueError(f'{source}: the training and test sets share {len(shared)} image(s) (e.g. '
                         f'{sorted(shared)[:2]}): the test images would be trained on')
    classes = tuple(train.metainfo['classes'])
    if tuple(test.metainfo['classes']) != classes:
        raise ValueError(f'{source}: the training and test datasets list other classes: {classes} and '
                         f'{tuple(test.metainfo["classes"])}')
    image_sizes, object_shapes, object_images, object_labels, counts, ignored = [], [], [], [], Counter(), Counter()
    for index in range(len(train)):
        info = train.get_data_info(index)
        image_sizes.append((info.get('width', 0), info.get('height', 0)))
        for instance in info.get('instances', []):
            if instance.get('ignore_flag', 0):  # VOC difficult, COCO crowd: training ignores them
                ignored[classes[instance['bbox_label']]] += 1
                continue
            x1, y1, x2, y2 = instance['bbox']
            object_shapes.append((max(x2 - x1, 0), max(y2 - y1, 0)))
            object_images.append(image_sizes[-1])
            object_labels.append(instance['bbox_label'])
            counts[classes[instance['bbox_label']]] += 1
    untrained = [name for name in classes if not counts[name]]
    if untrained:
        described = ', '.join(f'{name!r} ({ignored[name]} box(es), all marked difficult / crowd, which training '
                              'ignores)' if ignored[name] else f'{name!r} (no box)' for name in untrained)
        raise ValueError(f'{source}: no training box of {described} is trained on: no model could learn to detect '
                         'it, and its AP would be 0 for all three. Leave the class out (--classes with the others: '
                         'its objects are then skipped with a count; in a dataset config, its classes) or give it '
                         'trainable boxes')
    dataset = UserDataset(name=name, source=source, classes=classes, train_dataloader=train_dataloader,
                          test_dataloader=test_dataloader, test_evaluator=evaluators,
                          image_sizes=np.array(image_sizes, dtype=np.float64).reshape(-1, 2),
                          object_shapes=np.array(object_shapes, dtype=np.float64).reshape(-1, 2),
                          object_image_sizes=np.array(object_images, dtype=np.float64).reshape(-1, 2),
                          object_labels=np.array(object_labels, dtype=np.int64),
                          object_counts={name: counts[name] for name in classes},
                          ignored_counts={name: ignored[name] for name in classes if ignored[name]},
                          images_left_out=list(getattr(train, 'filtered_out', [])), num_val_images=len(test))
    dataset.notes += data_notes(train, test)
    return dataset


def data_notes(train, test) -> List[str]:
    """What the datasets dropped or left out (recorded by ``CustomVOCDataset``), for the results: boxes without
    area, objects of classes not listed, training images without any object of the listed classes."""
    notes = []
    for dataset, role, consequence in ((train, 'training', 'not trained on'), (test, 'validation', 'not evaluated')):
        where = getattr(dataset, 'ann_file', '')
        dropped = getattr(dataset, 'degenerate_boxes', None)
        if dropped:
            listed = ', '.join(f'{name} x{count}' for name, count in sorted(dropped.items()))
            notes.append(f'{where}: {sum(dropped.values())} {role} box(es) with no area (xmax <= xmin or ymax <= '
                         f'ymin) dropped, {consequence}: {listed}')
        unlisted = getattr(dataset, 'unlisted_objects', None)
        if unlisted:
            listed = ', '.join(f'{name!r} x{count}' for name, count in sorted(unlisted.items()))
            notes.append(f'{where}: {role} objects of classes not listed skipped, {consequence}: {listed}')
    left_out = list(getattr(train, 'filtered_out', []))
    if left_out:
        notes.append(f'{getattr(train, "ann_file", "")}: {len(left_out)} training image(s) without any object of the '
                     f'listed classes left out (filter_empty_gt): {", ".join(left_out[:10])}'
                     f'{" ..." if len(left_out) > 10 else ""}')
    return notes


def median_image_size(dataset: UserDataset) -> Optional[Tuple[float, float]]:
    """``(W, H)`` of the median training image, or None when the annotations record no image size."""
    sizes = dataset.image_sizes[(dataset.image_sizes > 0).all(axis=1)]
    return tuple(np.median(sizes, axis=0)) if len(sizes) else None


def default_input_size(dataset: UserDataset, max_side: int = DEFAULT_MAX_SIDE) -> Tuple[int, int]:
    """``(W, H)``: the median training image size, scaled down so that its longer side is at most
    ``max_side`` (never up), rounded to whole pixels.

    Raises:
        ValueError: The dataset does not record its image sizes (pass ``--input-size``).
    """
    median = median_image_size(dataset)
    if median is None:
        raise ValueError(f'{dataset.source}: the annotations give no image size: pass --input-size W H')
    width, height = median
    scale = min(1.0, max_side / max(width, height))
    return int(round(width * scale)), int(round(height * scale))


def _resize_scales(image_sizes: np.ndarray, input_size: Sequence[int]) -> np.ndarray:
    """How much each image of ``image_sizes`` ``(N, 2)`` is scaled to fit ``input_size`` (mmdet's ``Resize``
    with ``keep_ratio``: the longer side within the longer one, the shorter within the shorter)."""
    longer, shorter = image_sizes.max(axis=1), image_sizes.min(axis=1)
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.minimum(max(input_size) / longer, min(input_size) / shorter)


def class_balanced_weights(labels: np.ndarray) -> np.ndarray:
    """``(M,)`` weights of the training boxes that give every class the same total (summing to 1): mAP averages
    over classes, so a fit to the boxes must not let the most frequent class outweigh the rare ones."""
    labels = np.asarray(labels)
    if not len(labels):
        return np.zeros(0)
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    return 1.0 / (counts[inverse] * len(classes))


def boxes_at_input(dataset: UserDataset, input_size: Sequence[int]) -> np.ndarray:
    """``(M, 2)``: width and height of the training boxes in the models' input at ``input_size``, each scaled
    as its image is; boxes of images without a recorded size scale as the median image (unscaled if none)."""
    median = median_image_size(dataset)
    image_sizes = dataset.object_image_sizes.copy()
    if len(image_sizes) != len(dataset.object_shapes):  # a dataset described without them: the median image
        image_sizes = np.zeros_like(dataset.object_shapes)
    unknown = ~(image_sizes > 0).all(axis=1)
    scales = np.ones(len(image_sizes))
    if (~unknown).any():
        scales[~unknown] = _resize_scales(image_sizes[~unknown], input_size)
    if median is not None and unknown.any():
        scales[unknown] = _resize_scales(np.array([median]), input_size)[0]
    return dataset.object_shapes * scales[:, None]


#: Steps that resize otherwise than to one fixed scale: the demo cannot set their size.
_OTHER_RESIZES = ('RandomResize', 'RandomChoiceResize', 'FixShapeResize', 'TestTimeAug', 'RandomChoice')


def _set_resize(pipeline: list, input_size: Sequence[int], which: str) -> list:
    """``pipeline`` with the scale of its ``Resize`` steps set to ``input_size`` (keep ratio).

    Raises:
        ValueError: The pipeline has no ``Resize``, or a step that resizes otherwise (the models would not
            see ``input_size``), naming the step.
    """
    types = [step_type(step) for step in pipeline]
    other = [t for t in types if t in _OTHER_RESIZES]
    if other or 'Resize' not in types:
        raise ValueError(f'the {which} pipeline {"resizes with " + str(other) if other else "has no Resize"}: the '
                         f'demo trains and tests at one input size ({input_size[0]}x{input_size[1]}) through a '
                         "plain dict(type='Resize', scale=..., keep_ratio=True)")
    return [dict(step, scale=tuple(input_size), keep_ratio=True) if step_type(step) == 'Resize' else step
            for step in pipeline]


def _pipelines(model_cfg: Config, input_size: Sequence[int], train_pipeline: Optional[list],
               test_pipeline: Optional[list]) -> Tuple[list, list]:
    """The training and test pipelines of the run: the user's (their ``Resize`` at ``input_size``) or the
    model config's (the demo pipelines: resize, flip, pack). The test pipeline packs the raw ``instances``
    too, for a ``CocoMetric`` without an annotation file."""
    train = train_pipeline or model_cfg.train_dataloader.dataset.pipeline
    test = test_pipeline or model_cfg.test_dataloader.dataset.pipeline
    train = _set_resize(copy.deepcopy(train), input_size, 'training')
    test = _set_resize(copy.deepcopy(test), input_size, 'test')
    types = [step_type(step) for step in train]
    if 'LoadAnnotations' not in types or types.index('LoadAnnotations') > types.index('Resize'):
        raise ValueError('the training pipeline must load the annotations (LoadAnnotations) before its Resize: '
                         'else the boxes keep the original scale while the image is resized')
    types = [step_type(step) for step in test]
    if 'LoadAnnotations' not in types or types.index('LoadAnnotations') < max(
            i for i, t in enumerate(types) if t == 'Resize'):
        raise ValueError('the test pipeline must load the annotations (LoadAnnotations) after its Resize: VOC07 '
                         'mAP and the paired bootstrap compare the detections, in original image coordinates, '
                         'with the ground truth as the dataset gives it')
    for step in test:
        if step_type(step) == 'PackDetInputs':
            keys = tuple(step.get('meta_keys', _TEST_META_KEYS))
            step['meta_keys'] = keys + (('instances', ) if 'instances' not in keys else ())
    return train, test


def set_class_count(model: dict, count: int, name: str) -> None:
    """Sets ``num_classes`` of every box head of a detector config: the RoI head's (a list for cascades) and a
    one-stage detector's ``bbox_head`` (RetinaNet, FCOS, ...).

    Raises:
        ValueError: The model has neither, naming the config.
    """
    heads = model.get('roi_head', {}).get('bbox_head')
    heads = ([] if heads is None else heads if isinstance(heads, list) else [heads])
    heads += [model['bbox_head']] if 'bbox_head' in model else []
    if not heads:
        raise ValueError(f'{name}: no model.roi_head.bbox_head or model.bbox_head: the demo sets the class count of '
                         'a detector\'s box head (two-stage like Faster R-CNN and its cascades, or one-stage like '
                         'RetinaNet)')
    for head in heads:
        head.num_classes = count


def model_config_for(model_config: Union[str, Config], dataset: UserDataset, input_size: Sequence[int],
                     keep_user_pipelines: bool = False, teacher_config: Optional[str] = None,
                     anchor_generator: Optional[dict] = None) -> Config:
    """``model_config`` (one of the pair's configs: teacher, student or distillation; a file or a built config)
    trained and tested on ``dataset`` at ``input_size``: its dataloaders and evaluators replaced by the
    dataset's, the RoI head's class count set, and, for a distillation config, its teacher read from
    ``teacher_config`` (the written teacher config of the same data).

    Args:
        keep_user_pipelines (bool): Use the dataset's own pipelines (a ``--data-config``), their ``Resize`` at
            ``input_size``; else the model config's.
        anchor_generator (dict): The RPN's anchor generator (anchors fitted to the data,
            :func:`~.anchor_fit.choose_anchors`); None keeps the config's.
    """
    cfg = copy.deepcopy(model_config) if isinstance(model_config, Config) else Config.fromfile(model_config)
    model_config = cfg.filename or 'the method config' if isinstance(model_config, Config) else model_config
    user_pipelines = ((dataset.train_dataloader['dataset'].get('pipeline'),
                       dataset.test_dataloader['dataset'].get('pipeline')) if keep_user_pipelines else (None, None))
    train_pipeline, test_pipeline = _pipelines(cfg, input_size, *user_pipelines)
    train_loader = copy.deepcopy(dataset.train_dataloader)
    train_loader['dataset']['pipeline'] = train_pipeline
    test_loader = copy.deepcopy(dataset.test_dataloader)
    test_loader['dataset']['pipeline'] = test_pipeline
    cfg.train_dataloader, cfg.val_dataloader, cfg.test_dataloader = train_loader, test_loader, test_loader
    cfg.val_evaluator = cfg.test_evaluator = copy.deepcopy(dataset.test_evaluator)
    set_class_count(cfg.model, len(dataset.classes), model_config)
    if 'teacher' in cfg.model:
        if teacher_config is None:
            raise ValueError(f'{model_config}: a distillation config needs the teacher config of the same data')
        cfg.model.teacher.config = teacher_config
    if anchor_generator is not None:
        if 'anchor_generator' not in cfg.model.get('rpn_head', {}):
            raise ValueError(f'{model_config}: no model.rpn_head.anchor_generator to set the fitted anchors in')
        cfg.model.rpn_head.anchor_generator = copy.deepcopy(anchor_generator)
    cfg.pop('data_root', None)  # the synthetic configs' variable: not this data
    return cfg
