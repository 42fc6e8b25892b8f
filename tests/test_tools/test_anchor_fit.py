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


def test_centred_iou_and_coverage_by_hand():
    boxes = np.array([[10.0, 20.0], [16.0, 16.0], [64.0, 40.0]])
    anchors = np.array([[20.0, 10.0], [16.0, 16.0]])
    # box 1: against (20, 10) 10x10 = 100 / (200 + 200 - 100); against (16, 16) 10x16 = 160 / (200 + 256 - 160)
    # box 3: against (16, 16) 256 / 2560; against (20, 10) 200 / 2560
    assert best_shape_iou(boxes, anchors) == pytest.approx([160 / 296, 1.0, 256 / 2560])
    square = dict(type='AnchorGenerator', scales=[1], ratios=[1.0], strides=[16])  # one 16 x 16 anchor
    fit = coverage(boxes, square, iou=0.5)
    assert fit.covered == pytest.approx(2 / 3) and fit.mean_iou == pytest.approx((160 / 296 + 1 + 0.1) / 3)
    assert (fit.smallest, fit.largest) == (16.0, 16.0)


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
    assert coverage(boxes, fitted).covered > 0.95


def test_fit_never_covers_fewer_boxes_than_the_configs_anchors():
    boxes = anchor_shapes(GENERATOR)  # every box is one of the anchors: covered exactly
    scales, ratios = fit_anchors(boxes, GENERATOR)
    assert coverage(boxes, with_anchors(GENERATOR, scales, ratios)).covered == 1.0
    with pytest.raises(ValueError, match='no training box with a positive width and height'):
        fit_anchors(np.zeros((3, 2)), GENERATOR)


def test_the_demos_decision_and_its_words():
    model = Config.fromfile(STUDENT).model
    fine = choose_anchors(model, np.full((10, 2), 40.0), (320, 240))
    assert fine.generator is None and not fine.poor and fine.message.endswith(': kept')
    small = choose_anchors(model, np.array([[5.0, 5.0]] * 9 + [[50.0, 50.0]]), (320, 240))
    assert small.poor and small.message.startswith('the anchors (16-128 px) do not fit the objects at 320x240')
    assert '90 % are smaller than half the smallest anchor, 0 % larger' in small.message
    assert small.generator['scales'][0] < 8 and small.after.covered > small.before.covered
    kept = choose_anchors(model, np.full((4, 2), 600.0), (640, 480), kept_because='--keep-anchors')
    assert kept.generator is None and kept.poor and kept.message.endswith('Kept (--keep-anchors)')
    assert '100 % larger than twice the largest' in kept.message
    assert choose_anchors(dict(type='RetinaNet'), np.full((4, 2), 40.0), (320, 240)) is None
    forced = choose_anchors(model, np.full((10, 2), 40.0), (320, 240), always=True)  # --fit-anchors
    assert not forced.poor and forced.after.covered == 1.0 and 'Fitted: scales' in forced.message


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
    input_size = (40, 30)  # the shapes shrink to a few pixels: below half the smallest anchor
    choices = demo_anchors(args, dataset, input_size)
    assert set(choices) == {'teacher', 'baseline', 'distilled'} and choices['teacher'].generator is not None
    paths = write_demo_configs(args, str(tmp_path / 'work'), 'teacher.pth', dataset, input_size,
                               {role: choice.generator for role, choice in choices.items()})
    generators = {role: Config.fromfile(path).model.rpn_head.anchor_generator for role, path in paths.items()}
    assert generators['teacher'] == generators['baseline'] == generators['distilled'] == choices['teacher'].generator
    assert generators['baseline']['scales'] != GENERATOR['scales']
    args.keep_anchors = True
    assert all(choice.generator is None and choice.poor for choice in demo_anchors(args, dataset, input_size).values())
    args.keep_anchors, args.teacher_checkpoint = False, 'given.pth'  # a trained teacher keeps its anchors
    assert all('--teacher-checkpoint' in choice.message for choice in demo_anchors(args, dataset, input_size).values())
