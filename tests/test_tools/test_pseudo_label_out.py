"""tools/pseudo_label.py never writes its results over one of its inputs (the teacher's config, checkpoint or an
image), not even with --force, and checks the output folder before the teacher runs (issue 29)."""
import importlib.util
import os
import os.path as osp
from unittest import mock

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules

from det_kd.synthetic import SYNTHETIC_CLASSES

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TEACHER_CONFIG = osp.join(REPO, 'configs', 'faster_rcnn', 'faster-rcnn_vgg16-w0.25_12e_synthetic-coco.py')


def _tool():
    spec = importlib.util.spec_from_file_location('pseudo_label_tool', osp.join(REPO, 'tools', 'pseudo_label.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def inputs(tmp_path_factory):
    """A teacher config (a copy of the repo's), its random-weight checkpoint and a folder of two images."""
    register_all_modules(init_default_scope=True)
    root = tmp_path_factory.mktemp('pseudo_label_out')
    config = root / 'teacher.py'
    config.write_text(f'_base_ = {TEACHER_CONFIG!r}\n')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(config)).model)
    checkpoint = root / 'teacher.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=dict(classes=SYNTHETIC_CLASSES))),
               str(checkpoint))
    images = root / 'images'
    images.mkdir()
    for index in range(2):
        cv2.imwrite(str(images / f'{index}.jpg'), np.full((60, 80, 3), 60 * index, np.uint8))
    return dict(config=str(config), checkpoint=str(checkpoint), images=str(images))


def _run(inputs, out, *extra):
    return _tool().main([inputs['config'], inputs['checkpoint'], '--images', inputs['images'], '--out', str(out),
                         '--no-progress', *extra])


@pytest.mark.parametrize('which', ['checkpoint', 'config', 'image', 'link to the checkpoint'])
def test_an_input_is_never_written_over_even_with_force(inputs, which, tmp_path):
    target = dict(checkpoint=inputs['checkpoint'], config=inputs['config'],
                  image=osp.join(inputs['images'], '1.jpg'))
    if which == 'link to the checkpoint':
        target[which] = str(tmp_path / 'link.pth')
        os.symlink(inputs['checkpoint'], target[which])
    role = dict(checkpoint='the teacher checkpoint', config='the teacher config', image='the input image')
    role['link to the checkpoint'] = role['checkpoint']
    path = target[which]
    before = open(path, 'rb').read()
    with mock.patch('det_kd.engine.pseudo_labels.build_teacher', side_effect=AssertionError('the teacher was built')):
        with pytest.raises(SystemExit, match=rf'--out {path} is {role[which]}.*never written over, not even with '
                                             r'--force'):
            _run(inputs, path, '--force')
    assert open(path, 'rb').read() == before


def test_the_output_folder_is_checked_before_the_teacher_runs(inputs, tmp_path):
    out = tmp_path / 'missing' / 'results.json'
    with mock.patch('det_kd.engine.pseudo_labels.build_teacher', side_effect=AssertionError('the teacher was built')):
        with pytest.raises(SystemExit, match=rf'--out {out}: the folder {out.parent} does not exist'):
            _run(inputs, out)
        with pytest.raises(SystemExit, match=rf'--out {tmp_path} is a folder'):
            _run(inputs, tmp_path, '--force')


def test_an_earlier_results_file_is_replaced_with_force(inputs, tmp_path):
    out = tmp_path / 'results.json'
    out.write_text('{}')
    with pytest.raises(SystemExit, match='exists; give --force to replace it'):
        _run(inputs, out)
    summary = _run(inputs, out, '--force', '--score-thr', '0.0')
    assert summary['images'] == 2 and out.read_text() != '{}'
