"""A teacher's detections on a folder of images, with each detection's class-probability vector, in batches.

What ``tools/pseudo_label.py`` runs; the file format is
:mod:`det_kd.models.distillation.teacher_results`.
"""
import os
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from torch import nn
from tqdm import tqdm

from mmdet.registry import DATASETS
from mmdet.structures.bbox import bbox2roi

from ..datasets.unlabeled_images import list_images
from ..models.distillation.teacher import build_teacher
from ..models.distillation.teacher_results import write_teacher_results


def check_output_path(out: str, config: str, checkpoint: str, images: str) -> None:
    """Raises unless the results file ``out`` can be written, before anything runs: never over one of the
    inputs (the teacher's config or checkpoint, an image under ``images``; ``--force`` replaces only an earlier
    results file), never as a folder, and only into a folder that exists.

    Raises:
        ValueError: Naming ``out`` and what it is.
        FileNotFoundError: The folder of ``out`` does not exist.
    """
    if osp.isdir(out):
        raise ValueError(f'--out {out} is a folder: give the path of the results file (e.g. '
                         f'{osp.join(out, "teacher_results.json")})')
    if osp.exists(out):
        for role, path in (('teacher config', config), ('teacher checkpoint', checkpoint)):
            if path and osp.exists(path) and osp.samefile(out, path):
                raise ValueError(f'--out {out} is the {role} ({path}): an input is never written over, not even '
                                 'with --force; give the results file another name')
        if osp.isdir(images):
            for name in list_images(images):
                if osp.samefile(out, osp.join(images, name)):
                    raise ValueError(f'--out {out} is the input image {osp.join(images, name)}: an input is never '
                                     'written over, not even with --force; give the results file another name')
    folder = osp.dirname(osp.abspath(out))
    if not osp.isdir(folder):
        raise FileNotFoundError(f'--out {out}: the folder {folder} does not exist; create it first (checked before '
                                'the teacher runs on the images)')
    if not os.access(folder, os.W_OK):
        raise ValueError(f'--out {out}: the folder {folder} is not writable')


def dataset_classes(cfg: Config) -> Tuple[str, ...]:
    """The class names of the config's test dataset (its ``metainfo``, else its class's ``METAINFO``)."""
    dataset = cfg.test_dataloader.dataset
    while 'dataset' in dataset:
        dataset = dataset.dataset
    classes = (dataset.get('metainfo') or {}).get('classes') or DATASETS.get(dataset.type).METAINFO['classes']
    return tuple(classes)


def inference_pipeline(cfg: Config) -> Compose:
    """The config's test pipeline without its annotation loading (the images have no labels)."""
    steps = [step for step in cfg.test_dataloader.dataset.pipeline if step['type'] != 'LoadAnnotations']
    return Compose(steps)


def check_two_stage(model: nn.Module, config: str) -> None:
    """Raises unless ``model`` has a softmax RoI head (where the class-probability vectors come from)."""
    head = getattr(getattr(model, 'roi_head', None), 'bbox_head', None)
    if head is None or not hasattr(model, 'rpn_head'):
        raise ValueError(f'{config}: tools/pseudo_label.py needs a two-stage detector with a RoI head (its class '
                         'probabilities per box); for another detector write the results file yourself (format: '
                         'det_kd.models.distillation.teacher_results)')
    if getattr(head.loss_cls, 'use_sigmoid', False):
        raise ValueError(f'{config}: the RoI head classifies with sigmoids; class_probs need a softmax head')


def _batches(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


@torch.no_grad()
def predict_with_class_probs(model: nn.Module, batch: dict) -> list:
    """``model``'s detections on a collated batch, each with its RoI head's softmax on the detected box.

    Returns:
        list[dict]: Per image ``bboxes`` ``(n, 4)`` (original pixels, x1 y1 x2 y2), ``labels``, ``scores`` and
        ``class_probs`` ``(n, C + 1)``.
    """
    data = model.data_preprocessor(batch, False)
    inputs, samples = data['inputs'], data['data_samples']
    feats = model.extract_feat(inputs)
    proposals = model.rpn_head.predict(feats, samples, rescale=False)
    results = model.roi_head.predict(feats, proposals, samples, rescale=False)
    rois = bbox2roi([result.bboxes for result in results])
    probs = torch.softmax(model.roi_head._bbox_forward(feats, rois)['cls_score'].float(), dim=-1) if len(rois) else \
        rois.new_zeros((0, model.roi_head.bbox_head.num_classes + 1))
    outputs, start = [], 0
    for result, sample in zip(results, samples):
        count = len(result.bboxes)
        scale = result.bboxes.new_tensor(sample.metainfo['scale_factor']).repeat(2)
        outputs.append(dict(bboxes=(result.bboxes / scale).cpu(), labels=result.labels.cpu(),
                            scores=result.scores.cpu(), class_probs=probs[start:start + count].cpu()))
        start += count
    return outputs


def pseudo_label(config: str, checkpoint: str, images: str, out: str, score_thr: float = 0.05,
                 batch_size: int = 4, device: str = 'cpu', progress: bool = True) -> dict:
    """Runs the teacher ``config`` / ``checkpoint`` on every image under ``images`` and writes ``out``.

    Returns:
        dict: ``images`` and ``detections`` counts and the ``classes``.

    Raises:
        ValueError, FileNotFoundError: ``out`` is an input or cannot be written (:func:`check_output_path`,
            before the teacher is built).
    """
    check_output_path(out, config, checkpoint, images)
    cfg = Config.fromfile(config)
    model = build_teacher(cfg.model, checkpoint).to(device)
    check_two_stage(model, config)
    classes = dataset_classes(cfg)
    if len(classes) != model.roi_head.bbox_head.num_classes:
        raise ValueError(f'{config}: the dataset has {len(classes)} classes, the RoI head '
                         f'{model.roi_head.bbox_head.num_classes}')
    pipeline = inference_pipeline(cfg)
    files = list_images(images)
    image_entries, detections = [], []
    with tqdm(total=len(files), desc='pseudo-labelling', unit='img', disable=not progress, dynamic_ncols=True) as bar:
        for names in _batches(files, batch_size):
            start = len(image_entries)
            items = [pipeline(dict(img_path=osp.join(images, name), img_id=start + i)) for i, name in enumerate(names)]
            for index, (name, item, result) in enumerate(
                    zip(names, items, predict_with_class_probs(model, pseudo_collate(items)))):
                height, width = item['data_samples'].metainfo['ori_shape'][:2]
                image_id = start + index
                image_entries.append(dict(id=image_id, file_name=name.replace(os.sep, '/'), width=int(width),
                                          height=int(height)))
                for box, label, score, probs in zip(result['bboxes'].tolist(), result['labels'].tolist(),
                                                    result['scores'].tolist(), result['class_probs'].tolist()):
                    if score < score_thr:
                        continue
                    x1, y1, x2, y2 = box
                    detections.append(dict(image_id=image_id, bbox=[x1, y1, x2 - x1, y2 - y1],
                                           category_id=int(label) + 1, score=float(score), class_probs=probs))
            bar.update(len(names))
    write_teacher_results(out, classes, image_entries, detections,
                          teacher=dict(config=config, checkpoint=checkpoint, score_thr=score_thr),
                          root=osp.abspath(images))  # the folder file_name are relative to
    return dict(images=len(image_entries), detections=len(detections), classes=classes)
