"""Empty or malformed datasets fail naming the annotation file and why (not "need at least one array")."""
import json
import os.path as osp

import pytest
from mmengine.config import Config
from mmdet.registry import DATASETS

import det_kd  # noqa: F401
from det_kd.synthetic import generate_dataset

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BASES = {fmt: osp.join(REPO, 'configs', '_base_', 'datasets', f'synthetic_{fmt}.py') for fmt in ('voc', 'coco', 'kitti')}


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp('bad_datasets')
    generate_dataset(str(root / 'synthetic'), num_train=3, num_val=2, img_size=(96, 72), seed=0,
                     formats=('coco', 'voc', 'kitti'), progress=False)
    return root


def dataset(fmt, root, **overrides):
    cfg = Config.fromfile(BASES[fmt]).train_dataloader.dataset
    cfg.update(data_root=str(root / 'synthetic' / fmt) + '/', pipeline=[], **overrides)
    return DATASETS.build(cfg)


@pytest.mark.parametrize('fmt,split', [('voc', 'VOC2007/ImageSets/Main/train.txt'), ('kitti', 'ImageSets/train.txt')])
def test_an_empty_split_file_names_it(root, fmt, split, tmp_path):
    empty = tmp_path / 'empty.txt'
    empty.write_text('')
    assert len(dataset(fmt, root)) == 3
    with pytest.raises(ValueError, match=r'\(.*empty.txt\): the annotation / split file lists no image'):
        dataset(fmt, root, ann_file=str(empty))


def test_a_filter_that_drops_every_image_says_why(root):
    with pytest.raises(ValueError, match=r'0 of 3 images kept after filtering: 3 smaller than min_size=1000 \(filter_cfg='):
        dataset('voc', root, filter_cfg=dict(min_size=1000))
    with pytest.raises(ValueError, match=r'0 of 3 images kept after filtering: 3 without any object of the listed '
                                         r"classes \['Car'\]"):
        dataset('kitti', root, metainfo=dict(classes=('Car', )), filter_cfg=dict(filter_empty_gt=True))


def test_coco_without_annotations_is_refused(root, tmp_path):
    content = json.loads((root / 'synthetic' / 'coco' / 'annotations' / 'instances_val.json').read_text())
    del content['annotations']
    path = tmp_path / 'no_annotations.json'
    path.write_text(json.dumps(content))
    with pytest.raises(ValueError, match=r'no_annotations.json\): the COCO file has no "annotations" list'):
        dataset('coco', root, ann_file=str(path), data_prefix=dict(img='val/'), filter_cfg=None, test_mode=True)


@pytest.mark.parametrize('edit,words', [
    (lambda xml: xml[:len(xml) // 2], ['is not valid XML']),
    (lambda xml: xml.replace('<xmin>', '<xmin>abc', 1), ['object 0', '<bndbox><xmin>', 'not a number']),
    (lambda xml: xml.replace('<name>', '<nome>', 1).replace('</name>', '</nome>', 1), ['object 0 has no <name>']),
])
def test_malformed_voc_xml_names_the_file_and_object(root, tmp_path, edit, words):
    import shutil
    copy = tmp_path / 'voc'
    shutil.copytree(root / 'synthetic' / 'voc', copy)
    xml_path = sorted((copy / 'VOC2007' / 'Annotations').glob('*.xml'))[0]
    xml_path.write_text(edit(xml_path.read_text()))
    cfg = Config.fromfile(BASES['voc']).train_dataloader.dataset
    cfg.update(data_root=str(copy) + '/', pipeline=[])
    with pytest.raises(ValueError) as raised:
        DATASETS.build(cfg)
    assert xml_path.name in str(raised.value) and all(word in str(raised.value) for word in words), str(raised.value)
