"""What makes a loss NaN is named, not blamed on "the weights and temperatures" (issue 29): the NaN stop names the
term (and its settings) or the student's own loss, and the input at fault (a box under one pixel or outside its
image, a teacher results file)."""
from types import SimpleNamespace

import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

import det_kd  # noqa: F401
from det_kd.engine.hooks import FiniteLossHook, NonFiniteLossError
from det_kd.models.distillation.teacher_results import write_teacher_results
from kd_fixtures import build, kd_cfg, student_cfg

NAN = float('nan')
HEADS_OFF = dict(hints=[], loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None)


def _stop(model, outputs, data_batch=None, tmp_path='.'):
    runner = SimpleNamespace(iter=4, epoch=0, work_dir=str(tmp_path), model=model)
    with pytest.raises(NonFiniteLossError) as raised:
        FiniteLossHook().after_train_iter(runner, 0, data_batch=data_batch, outputs=outputs)
    return str(raised.value)


def _batch_with_box(box, path='/data/voc/JPEGImages/000042.jpg', shape=(96, 128)):
    sample = DetDataSample(metainfo=dict(img_path=path, img_shape=shape))
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[10., 10., 40., 40.], box]), labels=torch.tensor([0, 1]))
    return dict(inputs=[torch.zeros(3, *shape)], data_samples=[sample])


def test_the_nan_stop_names_the_distillation_term_and_its_settings(tmp_path):
    terms = [dict(type='AttentionTransferTerm', pairs=[dict(student=0, teacher=0)], p=8.0, loss_weight=250.0)]
    model = build(kd_cfg(distill=dict(HEADS_OFF, terms=terms)))
    message = _stop(model, dict(loss=torch.tensor(NAN), loss_at=torch.tensor(NAN), loss_cls=torch.tensor(0.3)),
                    tmp_path=tmp_path)
    assert "loss_at is the distillation term 'at' (AttentionTransferTerm, loss_weight=250, p=8): check its " \
           'settings' in message
    assert 'loss_cls' not in message


def test_the_nan_stop_names_a_box_outside_its_image_as_the_input_at_fault(tmp_path):
    """A VOC box entirely outside its image stopped the run "check the weights and temperatures"; it is a
    box loss of the student (or of a plain teacher run) and the image is named."""
    model = build(kd_cfg())
    data_batch = _batch_with_box(torch.tensor([130., 20., 160., 50.]))  # beyond the 128 px wide image
    message = _stop(model, dict(loss=torch.tensor(NAN), loss_bbox=torch.tensor(NAN)), data_batch, tmp_path)
    assert "loss_bbox is the student's own loss" in message
    assert ("image '/data/voc/JPEGImages/000042.jpg' has a ground-truth box [130.0, 20.0, 160.0, 50.0] outside its "
            'image (128x96 after the pipeline)') in message
    zero = _batch_with_box(torch.tensor([20., 20., 20., 50.]))  # zero width (Resize clips a box beyond the image)
    assert 'box [20.0, 20.0, 20.0, 50.0] under 1 pixel' in _stop(model, dict(loss_bbox=torch.tensor(NAN)), zero)
    plain = SimpleNamespace()  # the teacher's own plain training: the same hook, the same box named
    assert "image '/data/voc/JPEGImages/000042.jpg' has a ground-truth box" in _stop(
        plain, dict(loss_bbox=torch.tensor(NAN)), data_batch)


def test_the_nan_stop_names_the_teacher_results_file(tmp_path):
    path = str(tmp_path / 'results.json')
    write_teacher_results(path, ('a', 'b', 'c'), [], [])
    cfg = student_cfg()
    cfg.update(type='KDFasterRCNN', teacher=dict(results=path), distill=dict(HEADS_OFF, rcn_cls=dict(
        type='WeightedSoftCrossEntropyLoss', mu=0.5, bg_weight=1.5, T=2.0)))
    message = _stop(build(cfg), dict(loss_rcn_kd_cls=torch.tensor(NAN)), tmp_path=tmp_path)
    assert "loss_rcn_kd_cls is the distillation term 'rcn_cls' (RCNSoftClassTerm, T=2, mu=0.5, bg_weight=1.5)" \
        in message
    assert f"the teacher is the results file {path!r}" in message
