"""Anchors fitted to the user's boxes (det_kd.experiments.anchor_fit): the anchor shapes as mmdet makes them,
the centred IoU and coverage on hand-made boxes, the fit, and the demo writing the fitted anchors into every
generated config."""
import argparse
import os.path as osp

import numpy as np
import pytest
import torch
from conftest import REPO
from mmengine.config import Config

from det_kd.experiments.anchor_fit import (anchor_shapes, best_shape_iou, choose_anchors, coverage, fit_anchors,
                                           kmeans_log_ratios, with_anchors)
from det_kd.experiments.user_data import UserDataset, boxes_at_input

DEMO = osp.join(REPO, 'configs', 'demo')
STUDENT = osp.join(DEMO, 'faster-rcnn_alexnet-w0.25_demo.py')  # anchors of 16 to 128 px (stride 16, scales 1-8)
GENERATOR = dict(type='AnchorGenerator', scales=[1, 2, 4, 8], ratios=[0.5, 1.0, 2.0], strides=[16])


@pytest.mark.parametrize('generator', [GENERATOR, dict(type='AnchorGenerator', octave_base_scale=4,
                                                       scales_per_octave=3, ratios=[0.5, 1.0, 2.0],
                                                       strides=[8, 16, 32, 64, 128])])
def test_anchor_shapes_are_mmdets_base_anchors(generator):
    from mmdet.models.task_modules.prior_generators import AnchorGenerator
    built = AnchorGenerator(**{k: v for k, v in generator.items() if k != 'type'})
    expected = torch.cat([a[:, 2:] - a[:, :2] for a in built.base_anchors]).numpy()
    ours = anchor_shapes(generator)
    assert ours.shape == expected.shape
    by_shape = np.lexsort((ours[:, 1], ours[:, 0])), np.lexsort((expected[:, 1], expected[:, 0]))
    assert ours[by_shape[0]] == pytest.approx(expected[by_shape[1]].astype(np.float64), rel=1e-5)


def test_centred_iou_by_hand():
    boxes = np.array([[10.0, 20.0], [16.0, 16.0], [64.0, 40.0]])
    anchors = np.array([[20.0, 10.0], [16.0, 16.0]])
    # box 1: against (20, 10) 10x10 = 100 / (200 + 200 - 100); against (16, 16) 10x16 = 160 / (200 + 256 - 160)
    # box 3: against (16, 16) 256 / 2560; against (20, 10) 200 / 2560
    assert best_shape_iou(boxes, anchors) == pytest.approx([160 / 296, 1.0, 256 / 2560])


def test_coverage_over_the_grid_positions_by_hand():
    # one 16 x 16 anchor on a stride-16 grid, a 16 x 16 box whose centre sits 2 or 6 px off the anchor's on each
    # axis (the 4 x 4 positions spread over a cell): IoU = (16 - |dx|)(16 - |dy|) / (512 - (16 - |dx|)(16 - |dy|))
    square = dict(type='AnchorGenerator', scales=[1], ratios=[1.0], strides=[16])
    ious = []
    for dx in (-6, -2, 2, 6):
        for dy in (-6, -2, 2, 6):
            inter = (16 - abs(dx)) * (16 - abs(dy))
            ious.append(inter / (512 - inter))
    fit = coverage(np.array([[16.0, 16.0]]), square, iou=0.5)
    assert fit.mean_iou == pytest.approx(np.mean(ious))
    assert fit.covered == pytest.approx(np.mean(np.array(ious) >= 0.5)) == 0.25  # only (+-2, +-2): 196 / 316
    # matched at IoU 0.3 everywhere but at (+-6, +-6): 100 / 412 = 0.24; the fit is the mean of the two shares
    assert fit.matched == pytest.approx(np.mean(np.array(ious) >= 0.3)) == 0.75 and fit.fit == 0.5
    assert (fit.smallest, fit.largest) == (16.0, 16.0)
    # an anchor much smaller than its stride covers nothing, whatever its shape
    tiny = dict(type='AnchorGenerator', scales=[0.25], ratios=[1.0], strides=[16])
    assert coverage(np.array([[4.0, 4.0]]), tiny, iou=0.5).covered == 0.0


def test_kmeans_ratios_find_two_clusters():
    boxes = np.array([[20.0, 10.0]] * 5 + [[10.0, 20.0]] * 5 + [[30.0, 10.0]])
    first = np.exp((5 * np.log(0.5) + np.log(1 / 3)) / 6)  # the mean log ratio of its cluster: 0.467
    assert kmeans_log_ratios(boxes, 2) == [round(first, 2), 2.0] == [0.47, 2.0]


def test_fit_covers_large_objects_with_the_anchor_count_and_stride_kept():
    rng = np.random.default_rng(0)
    sides = rng.uniform(180, 400, size=(300, 1))
    boxes = np.hstack([sides, sides * rng.uniform(0.8, 1.25, size=(300, 1))])
    assert coverage(boxes, GENERATOR).covered < 0.05  # 16-128 px anchors: no box reaches IoU 0.7
    scales, ratios = fit_anchors(boxes, GENERATOR)
    assert len(scales) == 4 and len(ratios) == 3
    fitted = with_anchors(GENERATOR, scales, ratios)
    assert fitted['strides'] == [16] and fitted['type'] == 'AnchorGenerator'
    assert coverage(boxes, fitted).covered > 0.85


def test_fit_never_covers_fewer_boxes_than_the_configs_anchors():
    boxes = anchor_shapes(GENERATOR)  # every box is one of the anchors
    scales, ratios = fit_anchors(boxes, GENERATOR)
    fitted, own = coverage(boxes, with_anchors(GENERATOR, scales, ratios)), coverage(boxes, GENERATOR)
    assert (fitted.fit, fitted.mean_iou) >= (own.fit, own.mean_iou)
    with pytest.raises(ValueError, match='no training box with a positive width and height'):
        fit_anchors(np.zeros((3, 2)), GENERATOR)


def test_the_demos_decision_and_its_words():
    model = Config.fromfile(STUDENT).model
    fine = choose_anchors(model, np.full((10, 2), 40.0), (320, 240))
    assert fine.generator is None and not fine.poor and fine.message.endswith(': kept')
    small = choose_anchors(model, np.array([[5.0, 5.0]] * 9 + [[50.0, 50.0]]), (320, 240))
    assert small.poor and small.message.startswith('the anchors (16-128 px) do not fit the objects at 320x240')
    assert '90 % are smaller than half the smallest anchor, 0 % larger' in small.message
    # 5 px objects on a stride-16 grid: no anchor shape covers them; the way out is said
    assert small.after is None or small.after.covered < 0.5
    assert 'smaller than the finest anchor stride (16 px)' in small.message
    assert small.message.endswith('raise --input-size')
    large = choose_anchors(model, np.array([[300.0, 280.0]] * 9 + [[50.0, 50.0]]), (640, 480))
    assert large.poor and '90 % larger than twice the largest' in large.message
    assert large.generator['scales'][-1] > 8 and large.after.covered > large.before.covered
    kept = choose_anchors(model, np.full((4, 2), 600.0), (640, 480), kept_because='--keep-anchors')
    assert kept.generator is None and kept.poor and kept.message.endswith('Kept (--keep-anchors)')
    assert '100 % larger than twice the largest' in kept.message
    assert choose_anchors(dict(type='RetinaNet'), np.full((4, 2), 40.0), (320, 240)) is None
    forced = choose_anchors(model, np.full((10, 2), 40.0), (320, 240), always=True)  # --fit-anchors
    assert not forced.poor and forced.after.covered > forced.before.covered and 'Fitted: scales' in forced.message


def test_boxes_are_measured_at_the_input_size_per_image():
    dataset = UserDataset(name='d', source='d', classes=('a', ), train_dataloader={}, test_dataloader={},
                          test_evaluator=[], image_sizes=np.array([[640.0, 480.0], [320.0, 240.0]]),
                          object_shapes=np.array([[100.0, 50.0], [100.0, 50.0], [30.0, 30.0]]),
                          object_image_sizes=np.array([[640.0, 480.0], [320.0, 240.0], [0.0, 0.0]]))
    # 640x480 -> 320x240 halves; 320x240 stays; an image of unknown size scales as the median (480x360): x 2 / 3
    assert boxes_at_input(dataset, (320, 240)) == pytest.approx(np.array([[50, 25], [100, 50], [20, 20]]))


def test_the_demo_writes_the_fitted_anchors_into_every_config(tmp_path):
    from det_kd.experiments.demo import DEFAULT_KD, DEFAULT_TEACHER, demo_anchors, write_demo_configs
    from det_kd.experiments.user_data import voc_dataset
    from det_kd.synthetic import generate_dataset
    generate_dataset(str(tmp_path / 'data'), num_train=6, num_val=3, img_size=(200, 150), seed=0, formats=('voc', ),
                     progress=False)
    dataset = voc_dataset(str(tmp_path / 'data' / 'voc'))
    args = argparse.Namespace(teacher=DEFAULT_TEACHER, student=STUDENT, kd=DEFAULT_KD, keep_anchors=False,
                              fit_anchors=False, teacher_checkpoint=None, epochs=1, seeds=[0], data_config=None)
    input_size = (1000, 750)  # the shapes (up to 80 px at 200x150) grow past twice the largest anchor
    sources = dict(teacher=DEFAULT_TEACHER, baseline=STUDENT, distilled=DEFAULT_KD)
    choices = demo_anchors(args, dataset, input_size, sources)
    assert set(choices) == {'teacher', 'baseline', 'distilled'} and choices['teacher'].generator is not None
    paths = write_demo_configs(args, str(tmp_path / 'work'), 'teacher.pth', sources, dataset, input_size,
                               {role: choice.generator for role, choice in choices.items()})
    generators = {role: Config.fromfile(path).model.rpn_head.anchor_generator for role, path in paths.items()}
    assert generators['teacher'] == generators['baseline'] == generators['distilled'] == choices['teacher'].generator
    assert generators['baseline']['scales'] != GENERATOR['scales']
    args.keep_anchors = True
    kept = demo_anchors(args, dataset, input_size, sources).values()
    assert all(choice.generator is None and choice.poor for choice in kept)
    args.keep_anchors, args.teacher_checkpoint = False, 'given.pth'  # a trained teacher keeps its anchors
    given = demo_anchors(args, dataset, input_size, sources).values()
    assert all('--teacher-checkpoint' in choice.message for choice in given)
