"""Tests of the synthetic dataset generator (det_kd.synthetic).

Every annotation format is read back with a small parser written here (json, xml.etree, str.split),
independent of the writers, and converted to ``(x1, y1, x2, y2)`` boxes with exclusive x2/y2.
"""
import json
import os
import os.path as osp
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from det_kd.synthetic import SYNTHETIC_CLASSES, generate_dataset
from det_kd.synthetic.config import SceneConfig
from det_kd.synthetic.layout import SceneLayout
from det_kd.synthetic.render import render_scene
from det_kd.synthetic.shapes import ShapeSpec
from det_kd.synthetic.textures import BackgroundSpec, TextureSpec

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
WIDTH, HEIGHT = 128, 96
SMALL = dict(num_train=4, num_val=2, img_size=(WIDTH, HEIGHT), progress=False)
KITTI_INVALID_3D = ['-1', '-1', '-1', '-1000', '-1000', '-1000', '-10']


# ------------------------------------------------------------------------------------------------
# Independent parsers: each returns {image stem: [(class, x1, y1, x2, y2, flag), ...]}
# ------------------------------------------------------------------------------------------------
def read_ids(path):
    with open(path) as f:
        return [line.strip() for line in f if line.strip()]


def parse_coco(root, split):
    """Returns ``(stems in file order, {stem: [(class, x1, y1, x2, y2, iscrowd)]}, json)``."""
    with open(osp.join(root, 'coco', 'annotations', f'instances_{split}.json')) as f:
        data = json.load(f)
    names = {c['id']: c['name'] for c in data['categories']}
    stems = {img['id']: osp.splitext(img['file_name'])[0] for img in data['images']}
    boxes = {stem: [] for stem in stems.values()}
    for ann in data['annotations']:
        x, y, w, h = ann['bbox']
        box = (names[ann['category_id']], round(x), round(y), round(x + w), round(y + h),
               ann['iscrowd'])
        boxes[stems[ann['image_id']]].append(box)
    return [stems[img['id']] for img in data['images']], boxes, data


def parse_voc(root, split, convention='mmdet'):
    """Returns ``(stems, {stem: [(class, x1, y1, x2, y2, difficult)]})``.

    ``'mmdet'``: mmdet 3.3 reads ``(xmin - 1, ymin - 1, xmax - 1, ymax - 1)``;
    ``'voc'``: 1-based inclusive pixel indices, i.e. ``(xmin - 1, ymin - 1, xmax, ymax)``.
    """
    devkit = osp.join(root, 'voc', 'VOC2007')
    stems = read_ids(osp.join(devkit, 'ImageSets', 'Main', f'{split}.txt'))
    end = 1 if convention == 'mmdet' else 0
    boxes = {}
    for stem in stems:
        xml_root = ET.parse(osp.join(devkit, 'Annotations', f'{stem}.xml')).getroot()
        assert xml_root.find('filename').text == f'{stem}.jpg'
        assert int(xml_root.find('size/width').text) == WIDTH
        assert int(xml_root.find('size/height').text) == HEIGHT
        assert int(xml_root.find('size/depth').text) == 3
        boxes[stem] = []
        for obj in xml_root.findall('object'):
            assert obj.find('pose').text == 'Unspecified'
            assert obj.find('truncated').text in ('0', '1')
            xmin, ymin, xmax, ymax = (int(obj.find(f'bndbox/{tag}').text)
                                      for tag in ('xmin', 'ymin', 'xmax', 'ymax'))
            boxes[stem].append((obj.find('name').text, xmin - 1, ymin - 1, xmax - end, ymax - end,
                                int(obj.find('difficult').text)))
    return stems, boxes


def parse_kitti(root, split):
    """Returns ``(stems, {stem: [(class or 'dontcare', x1, y1, x2, y2, (trunc, occ))]})``."""
    stems = read_ids(osp.join(root, 'kitti', 'ImageSets', f'{split}.txt'))
    boxes = {}
    for stem in stems:
        boxes[stem] = []
        with open(osp.join(root, 'kitti', 'training', 'label_2', f'{stem}.txt')) as f:
            for line in f:
                fields = line.split()
                assert len(fields) == 15, line
                x1, y1, x2, y2 = (float(v) for v in fields[4:8])
                assert all(v.is_integer() for v in (x1, y1, x2, y2)), line
                assert fields[3] == '-10' and fields[8:] == KITTI_INVALID_3D, line
                boxes[stem].append((fields[0].lower(), int(x1), int(y1), int(x2), int(y2),
                                    (float(fields[1]), int(fields[2]))))
    return stems, boxes


def objects_only(entries, flag_to_drop=None):
    """Sorted ``(class, x1, y1, x2, y2)`` of entries, optionally without some flagged ones."""
    return sorted(e[:5] for e in entries if flag_to_drop is None or e[5] != flag_to_drop)


def annotation_files(root):
    """All annotation / split files under ``root``, relative paths -> bytes."""
    files = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            if name.endswith(('.json', '.xml', '.txt')):
                path = osp.join(dirpath, name)
                with open(path, 'rb') as f:
                    files[osp.relpath(path, root)] = f.read()
    return files


def image_files(root):
    """All image files under ``root``, relative paths -> bytes."""
    files = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            if name.endswith(('.jpg', '.png')):
                with open(osp.join(dirpath, name), 'rb') as f:
                    files[osp.relpath(osp.join(dirpath, name), root)] = f.read()
    return files


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('synthetic') / 'data')
    summary = generate_dataset(root, seed=0, **SMALL)
    return root, summary


# ------------------------------------------------------------------------------------------------
# Cross-format consistency
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('split', ['train', 'val'])
def test_three_formats_describe_identical_boxes(dataset, split):
    root, _ = dataset
    coco_stems, coco, _ = parse_coco(root, split)
    voc_stems, voc = parse_voc(root, split)
    kitti_stems, kitti = parse_kitti(root, split)
    assert coco_stems == voc_stems == kitti_stems
    assert len(coco_stems) == SMALL[f'num_{split}']
    num_objects = 0
    for stem in coco_stems:
        coco_objects = objects_only(coco[stem], flag_to_drop=1)  # drop iscrowd
        kitti_objects = sorted(e[:5] for e in kitti[stem] if e[0] != 'dontcare')
        assert coco_objects == kitti_objects, stem
        # VOC additionally holds the don't-care regions, as difficult objects
        assert objects_only(voc[stem]) == objects_only(coco[stem]), stem
        crowd = objects_only(coco[stem], flag_to_drop=0)
        assert all(e[5] == 1 for e in voc[stem] if e[:5] in crowd), stem
        for name, x1, y1, x2, y2, _ in coco[stem]:
            assert name in SYNTHETIC_CLASSES
            assert 0 <= x1 < x2 <= WIDTH and 0 <= y1 < y2 <= HEIGHT
        num_objects += len(coco_objects)
    assert num_objects > 0


def test_image_ids_are_unique_and_val_continues_after_train(dataset):
    root, _ = dataset
    train_stems, _, train_json = parse_coco(root, 'train')
    val_stems, _, val_json = parse_coco(root, 'val')
    assert train_stems == ['000000', '000001', '000002', '000003']
    assert val_stems == ['000004', '000005']
    for data in (train_json, val_json):
        for img in data['images']:
            assert img['id'] == int(osp.splitext(img['file_name'])[0])
            assert (img['width'], img['height']) == (WIDTH, HEIGHT)
        for ann in data['annotations']:
            assert {'iscrowd', 'area', 'bbox', 'category_id', 'id', 'image_id'} <= set(ann)
            assert ann['area'] == pytest.approx(ann['bbox'][2] * ann['bbox'][3])
            assert all(isinstance(v, float) for v in ann['bbox'])
    assert [c['id'] for c in train_json['categories']] == list(range(1, len(SYNTHETIC_CLASSES) + 1))
    assert [c['name'] for c in train_json['categories']] == list(SYNTHETIC_CLASSES)


def block_means(path, block=8):
    """The image's mean colour per 8x8 block (averages out JPEG and pixel noise)."""
    pixels = np.asarray(Image.open(path), dtype=np.float64)
    assert pixels.shape == (HEIGHT, WIDTH, 3)
    return pixels.reshape(HEIGHT // block, block, WIDTH // block, block, 3).mean(axis=(1, 3))


def test_same_id_is_the_same_scene_in_every_format(dataset):
    root, _ = dataset
    kitti_png = osp.join(root, 'kitti', 'training', 'image_2', '{}.png')
    for split, stem, other in (('train', '000002', '000003'), ('val', '000005', '000004')):
        with open(osp.join(root, 'coco', split, f'{stem}.jpg'), 'rb') as f:
            coco_jpg = f.read()
        with open(osp.join(root, 'voc', 'VOC2007', 'JPEGImages', f'{stem}.jpg'), 'rb') as f:
            assert f.read() == coco_jpg
        jpg = block_means(osp.join(root, 'coco', split, f'{stem}.jpg'))
        assert np.abs(block_means(kitti_png.format(stem)) - jpg).mean() < 1.5
        assert np.abs(block_means(kitti_png.format(other)) - jpg).mean() > 10.0


def test_coco_crowd_regions_are_the_kitti_dontcare_regions(dataset):
    root, _ = dataset
    total = 0
    for split in ('train', 'val'):
        stems, coco, _ = parse_coco(root, split)
        _, kitti = parse_kitti(root, split)
        for stem in stems:
            crowd = sorted(e[1:5] for e in coco[stem] if e[5] == 1)
            dont_care = sorted(e[1:5] for e in kitti[stem] if e[0] == 'dontcare')
            assert crowd == dont_care, stem
            total += len(crowd)
    assert total > 0


def test_kitti_fields_and_ranges(dataset):
    root, summary = dataset
    images_with_dontcare, truncated, occlusion_levels = 0, 0, Counter()
    kitti_types = {name.capitalize() for name in SYNTHETIC_CLASSES}
    for split in ('train', 'val'):
        stems, _ = parse_kitti(root, split)  # checks 15 fields and invalid 3D values
        for stem in stems:
            with open(osp.join(root, 'kitti', 'training', 'label_2', f'{stem}.txt')) as f:
                lines = [line.split() for line in f]
            images_with_dontcare += any(fields[0] == 'DontCare' for fields in lines)
            for fields in lines:
                x1, y1, x2, y2 = (float(v) for v in fields[4:8])
                assert 0 <= x1 < x2 <= WIDTH and 0 <= y1 < y2 <= HEIGHT
                assert all(len(v.split('.')[1]) == 2 for v in fields[4:8])
                if fields[0] == 'DontCare':
                    assert fields[1:4] == ['-1', '-1', '-10']
                    continue
                assert fields[0] in kitti_types
                assert 0.0 <= float(fields[1]) < 1.0
                assert fields[2] in ('0', '1', '2')
                truncated += float(fields[1]) > 0
                occlusion_levels[fields[2]] += 1
    assert images_with_dontcare > 0
    assert truncated > 0
    assert occlusion_levels['0'] > 0 and occlusion_levels['1'] + occlusion_levels['2'] > 0
    assert sum(occlusion_levels.values()) == sum(s['objects'] for s in summary['splits'].values())


def test_voc_difficult_flags_follow_the_documented_rule(dataset):
    root, _ = dataset
    difficult_objects = 0
    for split in ('train', 'val'):
        stems, coco, data = parse_coco(root, split)
        _, voc = parse_voc(root, split)
        extras = {}
        for ann in data['annotations']:
            if not ann['iscrowd']:
                x, y, w, h = ann['bbox']
                extras[(ann['image_id'], round(x), round(y), round(w), round(h))] = ann
        for stem in stems:
            crowd = objects_only(coco[stem], flag_to_drop=0)
            for name, x1, y1, x2, y2, difficult in voc[stem]:
                if (name, x1, y1, x2, y2) in crowd:
                    continue
                ann = extras[(int(stem), x1, y1, x2 - x1, y2 - y1)]
                expected = (y2 - y1 < 16 or ann['occlusion'] == 2 or ann['truncation'] > 0.5)
                assert difficult == int(expected), (stem, name, x1, y1, x2, y2)
                difficult_objects += difficult
    assert difficult_objects > 0


def test_summary_counts_match_the_files(dataset):
    root, summary = dataset
    for split in ('train', 'val'):
        stems, coco, _ = parse_coco(root, split)
        counts = Counter(e[0] for stem in stems for e in coco[stem] if e[5] == 0)
        assert summary['splits'][split]['images'] == len(stems)
        assert summary['splits'][split]['per_class'] == {n: counts[n] for n in SYNTHETIC_CLASSES}
    assert set(summary['formats']) == {'coco', 'voc', 'kitti'}


def test_voc_strict_convention_is_one_based_inclusive(dataset, tmp_path):
    root, _ = dataset
    generate_dataset(str(tmp_path), seed=0, formats=('voc', ), voc_box_convention='voc', **SMALL)
    for split in ('train', 'val'):
        stems, strict = parse_voc(str(tmp_path), split, convention='voc')
        _, mmdet_style = parse_voc(root, split, convention='mmdet')
        for stem in stems:
            assert strict[stem] == mmdet_style[stem]
            xml_root = ET.parse(osp.join(tmp_path, 'voc', 'VOC2007', 'Annotations',
                                         f'{stem}.xml')).getroot()
            for box in xml_root.iter('bndbox'):
                assert int(box.find('xmax').text) <= WIDTH
                assert int(box.find('ymax').text) <= HEIGHT


def test_mmdet_reads_identical_boxes_from_coco_and_voc(dataset):
    pytest.importorskip('mmdet')
    from mmdet.datasets import CocoDataset, VOCDataset
    root, _ = dataset
    metainfo = dict(classes=SYNTHETIC_CLASSES)
    coco = CocoDataset(data_root=osp.join(root, 'coco'), ann_file='annotations/instances_train.json',
                       data_prefix=dict(img='train/'), metainfo=metainfo, pipeline=[])
    voc = VOCDataset(data_root=osp.join(root, 'voc'), ann_file='VOC2007/ImageSets/Main/train.txt',
                     data_prefix=dict(sub_data_root='VOC2007/'), metainfo=metainfo, pipeline=[])
    _, kitti = parse_kitti(root, 'train')
    assert len(coco) == len(voc) == SMALL['num_train']
    for i in range(len(coco)):
        coco_info, voc_info = coco.get_data_info(i), voc.get_data_info(i)
        stem = f"{coco_info['img_id']:06d}"
        assert voc_info['img_id'] == stem

        def instances(info, ignored):
            return sorted((SYNTHETIC_CLASSES[inst['bbox_label']], *map(round, inst['bbox']))
                          for inst in info['instances'] if inst['ignore_flag'] == ignored)

        expected = sorted(e[:5] for e in kitti[stem] if e[0] != 'dontcare')
        voc_easy = instances(voc_info, 0)
        assert instances(coco_info, 0) == expected
        assert set(voc_easy) <= set(expected)
        assert sorted(voc_easy + instances(voc_info, 1)) == sorted(
            instances(coco_info, 0) + instances(coco_info, 1))
        for inst in coco_info['instances'] + voc_info['instances']:
            assert all(float(v).is_integer() for v in inst['bbox'])


# ------------------------------------------------------------------------------------------------
# Determinism and idempotence
# ------------------------------------------------------------------------------------------------
def test_same_seed_gives_byte_identical_files(dataset, tmp_path):
    root, _ = dataset
    generate_dataset(str(tmp_path), seed=0, **SMALL)
    first, second = annotation_files(root), annotation_files(str(tmp_path))
    assert len(first) > 0 and first == second
    assert image_files(root) == image_files(str(tmp_path))


def test_different_seed_gives_different_annotations(dataset, tmp_path):
    root, _ = dataset
    generate_dataset(str(tmp_path), seed=1, formats=('kitti', ), **SMALL)
    ours = {k: v for k, v in annotation_files(root).items() if k.startswith('kitti')}
    theirs = annotation_files(str(tmp_path))
    assert ours.keys() == theirs.keys()
    assert ours != theirs


def test_val_scenes_do_not_depend_on_num_train(dataset, tmp_path):
    root, _ = dataset
    generate_dataset(str(tmp_path), seed=0, formats=('kitti', ),
                     **dict(SMALL, num_train=SMALL['num_train'] - 2))
    ids_before = read_ids(osp.join(root, 'kitti', 'ImageSets', 'val.txt'))
    ids_after = read_ids(osp.join(tmp_path, 'kitti', 'ImageSets', 'val.txt'))
    assert len(ids_before) == len(ids_after) == SMALL['num_val']
    assert ids_after != ids_before  # renumbered ...
    for before, after in zip(ids_before, ids_after):  # ... but the same scenes
        label_dir = ('kitti', 'training', 'label_2')
        with open(osp.join(root, *label_dir, f'{before}.txt'), 'rb') as f1, \
                open(osp.join(tmp_path, *label_dir, f'{after}.txt'), 'rb') as f2:
            assert f1.read() == f2.read()
        image_dir = ('kitti', 'training', 'image_2')
        pixels_before = np.asarray(Image.open(osp.join(root, *image_dir, f'{before}.png')))
        pixels_after = np.asarray(Image.open(osp.join(tmp_path, *image_dir, f'{after}.png')))
        np.testing.assert_array_equal(pixels_before, pixels_after)


def test_regenerating_removes_stale_files_of_that_format_only(tmp_path):
    generate_dataset(str(tmp_path), seed=0, **dict(SMALL, num_train=3, num_val=1))
    generate_dataset(str(tmp_path), seed=0, formats=('coco', 'kitti'),
                     **dict(SMALL, num_train=1, num_val=1))
    assert sorted(os.listdir(tmp_path / 'coco' / 'train')) == ['000000.jpg']
    assert sorted(os.listdir(tmp_path / 'coco' / 'val')) == ['000001.jpg']
    assert len(os.listdir(tmp_path / 'kitti' / 'training' / 'label_2')) == 2
    assert len(os.listdir(tmp_path / 'voc' / 'VOC2007' / 'Annotations')) == 4  # untouched


# ------------------------------------------------------------------------------------------------
# Scene module: tight boxes, truncation, occlusion
# ------------------------------------------------------------------------------------------------
WHITE = TextureSpec('flat', (255, 255, 255), (255, 255, 255))
RED = TextureSpec('flat', (255, 0, 0), (255, 0, 0))
GREEN = TextureSpec('flat', (0, 255, 0), (0, 255, 0))


def render(*objects, width=WIDTH, height=HEIGHT):
    """Renders objects on a flat black background without clutter or noise."""
    layout = SceneLayout(width=width, height=height,
                         background=BackgroundSpec((0, 0, 0), (0, 0, 0)), objects=objects)
    return render_scene(layout, SceneConfig(width=width, height=height))


def pixel_box(mask):
    """Tight ``(x1, y1, x2, y2)`` (exclusive end) of a boolean image mask."""
    ys, xs = np.nonzero(mask)
    return (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


@pytest.mark.parametrize('kind', SYNTHETIC_CLASSES)
@pytest.mark.parametrize('angle', [0.0, 0.7])
def test_box_is_tight_around_the_rendered_mask(kind, angle):
    spec = ShapeSpec(kind, cx=60.3, cy=44.8, size=37.0, aspect=0.7, angle=angle, detail=0.5,
                     texture=WHITE)
    scene = render(spec)
    assert len(scene.objects) == 1
    obj = scene.objects[0]
    assert obj.name == kind
    assert obj.box == pixel_box(scene.image.any(axis=2))
    assert (obj.truncation, obj.occluded_fraction, obj.occlusion) == (0.0, 0.0, 0)
    assert not obj.difficult
    if kind == 'ring':  # the hole is background, the centre pixel is not part of the mask
        assert not scene.image[45, 60].any()


def test_truncated_box_is_clipped_and_truncation_is_the_lost_box_area():
    spec = ShapeSpec('star', cx=4.0, cy=90.0, size=30.0, aspect=0.9, angle=0.3, texture=WHITE)
    clipped = render(spec)
    shift = 40  # the same star fully inside a larger image
    full = render(ShapeSpec('star', cx=4.0 + shift, cy=90.0 + shift, size=30.0, aspect=0.9,
                            angle=0.3, texture=WHITE), width=WIDTH + 2 * shift,
                  height=HEIGHT + 2 * shift)
    x1, y1, x2, y2 = (v - shift for v in pixel_box(full.image.any(axis=2)))
    obj = clipped.objects[0]
    assert obj.box == pixel_box(clipped.image.any(axis=2))
    assert obj.box == (max(x1, 0), max(y1, 0), min(x2, WIDTH), min(y2, HEIGHT))
    full_area = (x2 - x1) * (y2 - y1)
    visible_area = (obj.box[2] - obj.box[0]) * (obj.box[3] - obj.box[1])
    assert obj.truncation == pytest.approx(1 - visible_area / full_area)
    assert 0.2 < obj.truncation < 0.9


def test_occlusion_is_measured_on_rendered_masks():
    back = ShapeSpec('rectangle', cx=50.0, cy=48.0, size=40.0, texture=RED)
    front = ShapeSpec('ellipse', cx=72.0, cy=48.0, size=36.0, texture=GREEN)
    alone = render(back).image[..., 0] == 255
    scene = render(back, front)
    visible = (scene.image[..., 0] == 255) & (scene.image[..., 1] == 0)
    hidden = 1 - visible.sum() / alone.sum()
    assert 0.1 < hidden < 0.5
    back_obj, front_obj = scene.objects
    assert back_obj.box == pixel_box(alone)  # box covers the hidden part too
    assert back_obj.occluded_fraction == pytest.approx(hidden)
    assert back_obj.occlusion == 1 and front_obj.occlusion == 0

    covering = ShapeSpec('rectangle', cx=50.0, cy=48.0, size=46.0, texture=GREEN)
    assert [o.name for o in render(back, covering).objects] == ['rectangle']  # back one dropped


def test_generated_scene_is_deterministic_and_seed_dependent():
    from det_kd.synthetic import generate_scene
    config = SceneConfig(width=WIDTH, height=HEIGHT)
    a = generate_scene(5, 'train', 3, config)
    b = generate_scene(5, 'train', 3, config)
    np.testing.assert_array_equal(a.image, b.image)
    assert a.objects == b.objects and a.ignore_regions == b.ignore_regions
    assert not np.array_equal(a.image, generate_scene(5, 'val', 3, config).image)
    assert not np.array_equal(a.image, generate_scene(6, 'train', 3, config).image)


# ------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------
def test_cli_writes_all_three_formats(tmp_path):
    out = tmp_path / 'cli'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.environ.get('PYTHONPATH', '')]))
    proc = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'make_synthetic_data.py'), '--out', str(out),
         '--num-train', '2', '--num-val', '1', '--img-size', '64', '48', '--seed', '3',
         '--formats', 'coco', 'voc', 'kitti', '--no-progress'],
        cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stdout
    assert 'train: 2 images' in proc.stdout and 'val: 1 images' in proc.stdout
    for name in ('coco', 'voc', 'kitti'):
        assert name + ':' in proc.stdout
    assert (out / 'coco' / 'annotations' / 'instances_val.json').is_file()
    assert (out / 'coco' / 'val' / '000002.jpg').is_file()
    assert (out / 'voc' / 'VOC2007' / 'Annotations' / '000001.xml').is_file()
    assert read_ids(out / 'voc' / 'VOC2007' / 'ImageSets' / 'Main' / 'train.txt') == ['000000',
                                                                                       '000001']
    assert (out / 'kitti' / 'training' / 'image_2' / '000002.png').is_file()
    assert read_ids(out / 'kitti' / 'ImageSets' / 'val.txt') == ['000002']
    with Image.open(out / 'kitti' / 'training' / 'image_2' / '000000.png') as img:
        assert img.size == (64, 48)
