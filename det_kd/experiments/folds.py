"""K-fold evaluation for the demo on a small dataset (``tools/demo.py --folds K``): every labelled image is
tested once without being trained on.

The training and validation images of the user's data are pooled and split into ``K`` folds of nearly equal
size (a fixed shuffle, seed 0); fold ``k`` trains on the other ``K - 1`` folds and tests on fold ``k``. The
fold's split is written into ``<work-dir>/folds/fold<k>/``: image-id lists for a PASCAL VOC folder, COCO
annotation files for a COCO-format dataset (image ids renumbered across the two original files, file names
made absolute, the ``CocoMetric`` pointed at the fold's test file).
"""
import copy
import json
import os
import os.path as osp
from typing import List

import numpy as np

from .user_data import UserDataset, describe_dataset

#: The shuffle of the pooled images into folds.
FOLD_SEED = 0


def split_into_folds(items: List, folds: int, seed: int = FOLD_SEED) -> List[List]:
    """``items`` shuffled (``seed``) and cut into ``folds`` lists whose sizes differ by at most one.

    Raises:
        ValueError: Fewer than 2 folds, or fewer items than folds.
    """
    if folds < 2:
        raise ValueError(f'--folds {folds}: give at least 2 folds')
    if len(items) < folds:
        raise ValueError(f'--folds {folds}: only {len(items)} labelled images to split')
    order = np.random.default_rng(seed).permutation(len(items))
    return [[items[i] for i in sorted(part)] for part in np.array_split(order, folds)]


def _write(path: str, text: str) -> str:
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)
    return path


def _voc_ids(dataset_cfg: dict) -> List[str]:
    path = dataset_cfg['ann_file']
    path = path if osp.isabs(path) else osp.join(dataset_cfg['data_root'], path)
    with open(path, encoding='utf-8') as f:
        return [line.split()[0] for line in f if line.strip()]


def _voc_folds(dataset: UserDataset, folds: int, out_dir: str) -> List[UserDataset]:
    train, test = dataset.train_dataloader['dataset'], dataset.test_dataloader['dataset']
    parts = split_into_folds(_voc_ids(train) + _voc_ids(test), folds)
    described = []
    for k, part in enumerate(parts):
        rest = [image_id for j, other in enumerate(parts) if j != k for image_id in other]
        loaders = []
        for loader, ids, name in ((dataset.train_dataloader, rest, 'train'), (dataset.test_dataloader, part, 'test')):
            loader = copy.deepcopy(loader)
            loader['dataset']['ann_file'] = _write(osp.join(out_dir, f'fold{k}', f'{name}.txt'), '\n'.join(ids) + '\n')
            loaders.append(loader)
        described.append(describe_dataset(f'{dataset.name} fold {k}', f'{dataset.source}, fold {k} of {folds}',
                                          *loaders, copy.deepcopy(dataset.test_evaluator)))
    return described


def _coco_pool(dataset_cfg: dict) -> List[dict]:
    """The images of a COCO-format dataset config, each with its annotations and an absolute file name."""
    root = dataset_cfg.get('data_root') or ''
    path = dataset_cfg['ann_file'] if osp.isabs(dataset_cfg['ann_file']) else osp.join(root, dataset_cfg['ann_file'])
    with open(path, encoding='utf-8') as f:
        coco = json.load(f)
    prefix = (dataset_cfg.get('data_prefix') or {}).get('img', '')
    by_image = {}
    for annotation in coco.get('annotations', []):
        by_image.setdefault(annotation['image_id'], []).append(annotation)
    return [dict(image=dict(image, file_name=osp.abspath(osp.join(root, prefix, image['file_name']))),
                 annotations=by_image.get(image['id'], []), categories=coco.get('categories', []))
            for image in coco.get('images', [])]


def _coco_file(entries: List[dict], path: str) -> str:
    images, annotations = [], []
    for new_id, entry in enumerate(entries, 1):
        images.append(dict(entry['image'], id=new_id))
        annotations += [dict(a, image_id=new_id) for a in entry['annotations']]
    annotations = [dict(a, id=i) for i, a in enumerate(annotations, 1)]
    return _write(path, json.dumps(dict(images=images, annotations=annotations,
                                        categories=entries[0]['categories'] if entries else [])))


def _coco_folds(dataset: UserDataset, folds: int, out_dir: str) -> List[UserDataset]:
    train, test = dataset.train_dataloader['dataset'], dataset.test_dataloader['dataset']
    train_pool, test_pool = _coco_pool(train), _coco_pool(test)
    categories = [sorted((c['id'], c['name']) for c in pool[0]['categories']) for pool in (train_pool, test_pool)
                  if pool]
    if len(categories) == 2 and categories[0] != categories[1]:
        raise ValueError(f'--folds: the training and test annotation files ({train["ann_file"]}, {test["ann_file"]}) '
                         'list other categories or number them otherwise: they cannot be pooled into folds')
    parts = split_into_folds(train_pool + test_pool, folds)
    described = []
    for k, part in enumerate(parts):
        rest = [entry for j, other in enumerate(parts) if j != k for entry in other]
        files = dict(train=_coco_file(rest, osp.join(out_dir, f'fold{k}', 'train.json')),
                     test=_coco_file(part, osp.join(out_dir, f'fold{k}', 'test.json')))
        loaders = []
        for loader, name in ((dataset.train_dataloader, 'train'), (dataset.test_dataloader, 'test')):
            loader = copy.deepcopy(loader)
            loader['dataset'].update(ann_file=files[name], data_root='', data_prefix=dict(img=''))
            loaders.append(loader)
        evaluators = [dict(e, ann_file=files['test']) if e.get('ann_file') else copy.deepcopy(e)
                      for e in dataset.test_evaluator]
        described.append(describe_dataset(f'{dataset.name} fold {k}', f'{dataset.source}, fold {k} of {folds}',
                                          *loaders, evaluators))
    return described


def fold_datasets(dataset: UserDataset, folds: int, out_dir: str) -> List[UserDataset]:
    """The ``folds`` fold datasets of a user's dataset (module docstring), their splits written under
    ``out_dir``.

    Raises:
        ValueError: Data that is neither a PASCAL VOC folder nor a COCO-format dataset, or too few images.
    """
    kind = str(dataset.train_dataloader['dataset'].get('type', '')).split('.')[-1]
    if kind == 'CustomVOCDataset':
        return _voc_folds(dataset, folds, out_dir)
    if str(dataset.train_dataloader['dataset'].get('ann_file', '')).endswith('.json') and \
            str(dataset.test_dataloader['dataset'].get('ann_file', '')).endswith('.json'):
        return _coco_folds(dataset, folds, out_dir)
    raise ValueError(f'--folds: {dataset.source} is neither a PASCAL VOC folder nor a COCO-format dataset (a '
                     'dataset with .json annotation files): the demo cannot split it into folds')
