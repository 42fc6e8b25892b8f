"""A teacher trained on other classes than the student's (the same names in another order, other names for the
same count, another count) is refused before training, naming both lists: single teachers (their config's
training set, their checkpoint's dataset_meta), every member of an ensemble, a results file, and whatever turns
teacher outputs into pseudo labels, also with only feature terms on (issue 29)."""
import copy
from types import SimpleNamespace
from unittest import mock

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.runner import Runner
from mmengine.structures import InstanceData
from PIL import Image

import det_kd  # noqa: F401
from det_kd.datasets.unlabeled_images import UnlabeledImageDataset
from det_kd.models.distillation.teacher_results import TeacherResults, write_teacher_results
from det_kd.models.distillation.training_set import check_training_set
from kd_fixtures import NUM_CLASSES, batch, build, kd_cfg, student_cfg, teacher_cfg

CLASSES = ('cat', 'dog', 'bird')
AT_ONLY = dict(hints=[], loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_cls=None, rcn_reg=None,
               terms=[dict(type='AttentionTransferTerm', pairs=[dict(student=0, teacher=0)])])


def teacher_config(tmp_path, classes, name='teacher.py', num_classes=NUM_CLASSES):
    """A teacher config file with a train dataloader whose dataset names ``classes``."""
    model = teacher_cfg()
    model.roi_head.bbox_head.num_classes = num_classes
    cfg = Config(dict(model=model, train_dataloader=dict(
        batch_size=2, dataset=dict(type='CocoDataset', metainfo=dict(classes=list(classes))))))
    path = str(tmp_path / name)
    cfg.dump(path)
    return path


def teacher_checkpoint(tmp_path, classes, name='teacher.pth'):
    """A random teacher's weights with ``meta.dataset_meta.classes`` as MMEngine's runner saves them."""
    teacher = build(teacher_cfg())
    path = str(tmp_path / name)
    torch.save(dict(state_dict=teacher.state_dict(), meta=dict(dataset_meta=dict(classes=tuple(classes)))), path)
    return path


def training_set(classes=CLASSES):
    """A labeled training set as the start-up check sees it: its classes, no image listing needed."""
    return SimpleNamespace(metainfo=dict(classes=tuple(classes)))


def _kd(tmp_path, config_classes=None, checkpoint_classes=None, **cfg):
    model = kd_cfg()
    if config_classes is not None:
        model.teacher.config = teacher_config(tmp_path, config_classes)
    if checkpoint_classes is not None:
        model.teacher.update(checkpoint=teacher_checkpoint(tmp_path, checkpoint_classes), allow_random_init=False)
    model.update(cfg)
    return build(model)


@pytest.mark.parametrize('classes,how', [(('dog', 'cat', 'bird'), 'the same names in another order'),
                                         (('cat', 'dog', 'fish'), 'other names for the same count')])
def test_a_teacher_config_of_other_class_names_is_refused_naming_both_lists(tmp_path, classes, how):
    model = _kd(tmp_path, config_classes=classes)
    with pytest.raises(ValueError) as raised:
        check_training_set(model, training_set())
    message = str(raised.value)
    assert f"KDFasterRCNN.teacher (config '{tmp_path / 'teacher.py'}')" in message and how in message
    assert str(list(classes)) in message and str(list(CLASSES)) in message
    check_training_set(_kd(tmp_path, config_classes=CLASSES), training_set())  # the same list passes


def test_a_teacher_checkpoint_of_other_class_names_is_refused(tmp_path):
    model = _kd(tmp_path, checkpoint_classes=('bird', 'dog', 'cat'))
    assert model.teacher.dataset_meta == dict(classes=('bird', 'dog', 'cat'))
    with pytest.raises(ValueError, match=r"KDFasterRCNN.teacher \(checkpoint '.*teacher.pth'\) was trained on classes "
                                         r"\['bird', 'dog', 'cat'\], the student trains on \['cat', 'dog', 'bird'\]"):
        check_training_set(model, training_set())


def test_each_member_of_an_ensemble_is_compared(tmp_path):
    cfg = kd_cfg()
    first = dict(config=teacher_config(tmp_path, CLASSES, 'first.py'), allow_random_init=True)
    second = dict(config=teacher_config(tmp_path, ('cat', 'bird', 'dog'), 'second.py'), allow_random_init=True)
    cfg.teacher = [first, second]
    with pytest.raises(ValueError, match=r"KDFasterRCNN.teacher\[1\] \(config '.*second.py'\) was trained on classes "
                                         r"\['cat', 'bird', 'dog'\]"):
        check_training_set(build(cfg), training_set())


def test_a_results_file_of_other_class_names_is_refused_and_a_class_named_twice_at_load(tmp_path):
    path = str(tmp_path / 'results.json')
    write_teacher_results(path, ('dog', 'cat', 'bird'), [], [])
    cfg = student_cfg()
    cfg.update(type='KDFasterRCNN', teacher=dict(results=path),
               distill=dict(hints=[], loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_reg=None))
    with pytest.raises(ValueError, match=r"KDFasterRCNN.teacher.results '.*results.json' was trained on classes "
                                         r"\['dog', 'cat', 'bird'\], the student trains on \['cat', 'dog', 'bird'\]"):
        check_training_set(build(cfg), training_set())
    write_teacher_results(path, ('cat', 'dog', 'cat'), [], [])
    with pytest.raises(ValueError, match=r"results.json': classes \['cat', 'dog', 'cat'\] list \['cat'\] more than "
                                         'once'):
        TeacherResults(path)


def test_feature_terms_on_labeled_images_do_not_compare_classes(tmp_path):
    """Attention transfer from a teacher of other classes is legitimate (the maps are class-agnostic)."""
    model = _kd(tmp_path, config_classes=('x', 'y', 'z'), distill=AT_ONLY)
    assert check_training_set(model, training_set()) == []


def _unlabeled_folder(tmp_path, count=2):
    folder = tmp_path / 'unlabeled'
    folder.mkdir()
    for index in range(count):
        Image.new('RGB', (128, 96), (index * 40, 90, 30)).save(folder / f'img{index}.png')
    return UnlabeledImageDataset(data_root=str(folder), data_prefix=dict(img=str(folder)),
                                 metainfo=dict(classes=CLASSES), pipeline=[])


@pytest.mark.parametrize('teacher_classes', [2, 5])
def test_pseudo_labels_from_a_teacher_of_another_class_count_are_refused_with_only_feature_terms(tmp_path,
                                                                                                  teacher_classes):
    """The 3-class student with attention transfer alone: no head term compared the RoI heads, and the teacher's
    labels (up to 4) became the student's labels (3 is its background) with exit code 0."""
    cfg = kd_cfg(distill=AT_ONLY)
    cfg.teacher.config['model'].roi_head.bbox_head.num_classes = teacher_classes
    cfg.pseudo_label_thr = 0.0
    torch.manual_seed(0)
    model = build(cfg)
    model.train()
    inputs, samples = batch(model)
    samples[1].set_metainfo(dict(unlabeled=True))
    samples[1].gt_instances = InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))
    message = rf'KDFasterRCNN.teacher detects {teacher_classes} classes, the student {NUM_CLASSES}'
    with pytest.raises(ValueError, match=message):  # at start-up, with unlabeled images in the training set
        check_training_set(model, _unlabeled_folder(tmp_path))
    with pytest.raises(ValueError, match=message):  # and on the path that turns detections into labels
        model.loss(inputs, copy.deepcopy(samples))
    model.pseudo_label_thr = None  # soft only: no label, nothing to refuse
    model.loss(inputs, copy.deepcopy(samples))


def test_pseudo_labels_compare_the_names_too(tmp_path):
    model = _kd(tmp_path, config_classes=('dog', 'cat', 'bird'), distill=AT_ONLY)
    with pytest.raises(ValueError, match=r'\(its detections as pseudo labels are used\).*another order'):
        check_training_set(model, _unlabeled_folder(tmp_path))


class _Images(torch.utils.data.Dataset):
    """Two packed 96x128 images with a ``metainfo`` (the student's classes), as a runner's dataset."""

    def __init__(self, classes):
        self.metainfo = dict(classes=tuple(classes))
        from mmdet.testing import demo_mm_inputs
        torch.manual_seed(0)
        data = demo_mm_inputs(batch_size=2, image_shapes=[(3, 96, 128)] * 2, num_items=[2, 2],
                              num_classes=NUM_CLASSES)
        self.items = [dict(inputs=data['inputs'][i], data_samples=data['data_samples'][i]) for i in range(2)]

    def __len__(self):
        return 2

    def __getitem__(self, index):
        return copy.deepcopy(self.items[index])


def _runner(tmp_path, name, custom_hooks, default_hooks):
    model = kd_cfg()
    model.teacher.config = teacher_config(tmp_path, ('dog', 'cat', 'bird'))
    loader = torch.utils.data.DataLoader(_Images(CLASSES), batch_size=2, collate_fn=pseudo_collate)
    return Runner(model=model, work_dir=str(tmp_path / name), train_dataloader=loader,
                  train_cfg=dict(type='IterBasedTrainLoop', max_iters=1),
                  optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.0)), custom_hooks=custom_hooks,
                  default_hooks=dict(checkpoint=None, **default_hooks), default_scope='mmdet',
                  experiment_name=f'teacher_classes_{name}')


@pytest.mark.parametrize('custom_hooks,default_hooks', [
    ([dict(type='DistillationScheduleHook')], {}),  # every distillation config has it
    ([], dict(finite_loss=dict(type='FiniteLossHook'))),  # every det_kd config's default_hooks have it
])
def test_a_runner_refuses_the_permuted_teacher_before_the_first_iteration(tmp_path, custom_hooks, default_hooks):
    runner = _runner(tmp_path, 'hooked', custom_hooks, default_hooks)
    with pytest.raises(ValueError, match=r"\['dog', 'cat', 'bird'\], the student trains on \['cat', 'dog', 'bird'\]"):
        runner.train()
    assert runner.iter == 0


def test_a_run_without_either_hook_is_told_what_was_not_compared(tmp_path):
    runner = _runner(tmp_path, 'bare', [], {})
    with mock.patch('det_kd.models.distillation.training_set.print_log') as log:
        runner.train()
    warning = log.call_args.args[0]
    assert 'training without the start-up checks' in warning and 'DistillationScheduleHook' in warning
    assert "the teacher's class names (KDFasterRCNN.teacher (config " in warning
