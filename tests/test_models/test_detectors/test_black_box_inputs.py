"""A teacher results file that does not match its images is refused before training, naming the file and the
image; what cannot be refused (no detection, a threshold above every score, boxes a crop cuts away) is counted
and warned about; the soft target reads the stored probabilities at the term's temperature (issue 29)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

import det_kd  # noqa: F401
from det_kd.models.distillation.teacher_results import TeacherResults, write_teacher_results
from det_kd.models.distillation.teachers.base import TeacherRequest
from det_kd.models.distillation.training_set import TrainingImage, check_training_set
from det_kd.models.distillation.unlabeled import with_pseudo_labels
from kd_fixtures import NUM_CLASSES, build, kd_cfg, student_cfg

CLASSES = ('a', 'b', 'c')
PROBS = [0.7, 0.1, 0.1, 0.1]
RCN_ONLY = dict(hints=[], loss_hint=None, rpn_cls=None, rpn_reg=None, rcn_reg=None)


def _image(image_id, file_name, width=128, height=96):
    return dict(id=image_id, file_name=file_name, width=width, height=height)


def _det(image_id, box, score=0.9, probs=PROBS, label=0):
    x1, y1, x2, y2 = box
    return dict(image_id=image_id, bbox=[x1, y1, x2 - x1, y2 - y1], category_id=label + 1, score=score,
                class_probs=probs)


def _file(tmp_path, images, detections=(), root=None, name='results.json'):
    path = str(tmp_path / name)
    write_teacher_results(path, CLASSES, images, list(detections), root=root)
    return path


def _model(results, distill=RCN_ONLY, pseudo_label_thr=0.5, **teacher):
    cfg = student_cfg()
    cfg.update(type='KDFasterRCNN', teacher=dict(results=results, **teacher), distill=distill,
               pseudo_label_thr=pseudo_label_thr)
    return MODELS.build(cfg)


def _sample(path, unlabeled=False, size=(96, 128), matrix=None, img_shape=None):
    sample = DetDataSample(metainfo=dict(
        img_path=path, ori_shape=size, img_shape=img_shape or size,
        homography_matrix=np.eye(3, dtype=np.float32) if matrix is None else matrix,
        **(dict(unlabeled=True) if unlabeled else {})))
    sample.gt_instances = InstanceData(bboxes=torch.zeros((0, 4)), labels=torch.zeros((0, ), dtype=torch.long))
    return sample


class _Set:
    """A training set as the start-up check sees it: classes and the images' paths, sizes, unlabeled marks."""

    def __init__(self, images):
        self.metainfo = dict(classes=CLASSES)
        self.images = images

    def __len__(self):
        return len(self.images)

    def get_data_info(self, index):
        image = self.images[index]
        return dict(img_path=image.path, width=image.width, height=image.height, unlabeled=image.unlabeled)


def _check(model, *images):
    return check_training_set(model, _Set(list(images)))


# ---------------------------------------------------------------------- the image's size
def test_an_entry_made_at_another_image_size_is_refused_naming_file_and_image(tmp_path):
    path = _file(tmp_path, [_image(0, 'img.png', 64, 48)], [_det(0, [10, 10, 30, 30])])
    image = str(tmp_path / 'train' / 'img.png')
    with pytest.raises(ValueError, match=r"results.json': the detections of 'img.png' were made on a 64x48 image, "
                                         rf"but the training image '{image}' is 128x96"):
        _check(_model(path), TrainingImage(image, 'train', 128, 96))
    model = _model(path)  # as the batch comes (no start-up check): the sample's ori_shape
    with pytest.raises(ValueError, match=r"made on a 64x48 image, but the training image .*img.png' is 128x96"):
        model.distiller.teacher.match(torch.tensor([[0, 1., 1., 9., 9.]]), [_sample(image)])
    _check(_model(path), TrainingImage(image, 'train', 64, 48))  # the right size passes


# ---------------------------------------------------------------------- which entry is an image's
def test_a_file_made_on_another_folder_with_the_same_names_is_refused(tmp_path):
    """The file records the folder it was made on (tools/pseudo_label.py --images): images elsewhere with the same
    file names are not its images (the old tail match used them)."""
    made_on, trained_on = tmp_path / 'val', tmp_path / 'train'
    path = _file(tmp_path, [_image(0, 'img.png')], [_det(0, [10, 10, 30, 30])], root=str(made_on))
    image = str(trained_on / 'img.png')
    with pytest.raises(KeyError, match=rf"no entry for 1 of the 1 images of training dataset 0 \(_Set\) \(e.g. "
                                       rf"\['{image}'\]; image root "
                                       rf"'{made_on}'"):
        _check(_model(path), TrainingImage(image, 'train'))
    with pytest.raises(KeyError, match=rf"no entry for image '{image}' under the image root '{made_on}'"):
        _model(path).distiller.teacher.match(torch.tensor([[0, 1., 1., 9., 9.]]), [_sample(image)])
    # the teacher dict's root says where the file_name are relative to, over the file's own
    _check(_model(path, root=str(trained_on)), TrainingImage(image, 'train'))
    assert TeacherResults(path).find(str(made_on / 'img.png')) is not None


def test_files_without_a_root_are_matched_relative_to_the_image_folder_or_a_folder_above(tmp_path):
    """Files written before the root was recorded: relative to the dataset's image folder, or to a folder above
    several datasets (tools/pseudo_label.py --images data/synthetic), one folder per dataset for every image."""
    train = [str(tmp_path / 'data' / 'coco' / 'train' / name) for name in ('a.png', 'b.png')]
    unlabeled = [str(tmp_path / 'data' / 'unlabeled' / 'a.png')]
    path = _file(tmp_path, [_image(0, 'a.png'), _image(1, 'b.png')], name='own_folder.json')
    model = _model(path)
    _check(model, *[TrainingImage(p, 'train', 128, 96) for p in train])
    assert model.distiller.teacher.results.find(train[1]).file_name == 'b.png'
    above = _file(tmp_path, [_image(0, 'coco/train/a.png'), _image(1, 'coco/train/b.png'),
                             _image(2, 'unlabeled/a.png', 64, 48)], name='above.json')
    model = _model(above)
    _check(model, *[TrainingImage(p, 'train') for p in train], TrainingImage(unlabeled[0], 'unlabeled', 64, 48))
    assert model.distiller.teacher.results.find(unlabeled[0]).width == 64  # not coco/train/a.png's entry


def test_an_image_that_two_entries_could_be_is_refused(tmp_path):
    image = str(tmp_path / 'train' / 'img.png')
    path = _file(tmp_path, [_image(0, 'img.png'), _image(1, 'train/img.png')])
    with pytest.raises(ValueError, match=r"the images of training dataset 0 \(_Set\) have entries relative to 2 "
                                         r"folders .* ambiguous; "
                                         r"give the image root as teacher.root"):
        _check(_model(path), TrainingImage(image, 'train'))
    with pytest.raises(ValueError, match=r"matches the entries \['train/img.png', 'img.png'\] alike"):
        TeacherResults(path).get(image)
    _check(_model(path, root=str(tmp_path)), TrainingImage(image, 'train'))  # a root decides


def test_a_training_image_without_an_entry_is_refused_at_start_up(tmp_path):
    path = _file(tmp_path, [_image(0, 'a.png')])
    missing = str(tmp_path / 'train' / 'b.png')
    with pytest.raises(KeyError, match=rf"no entry for 1 of the 2 images of training dataset 0 \(_Set\) \(e.g. "
                                       rf"\['{missing}'\]"):
        _check(_model(path), TrainingImage(str(tmp_path / 'train' / 'a.png'), 'train'),
               TrainingImage(missing, 'train'))
    # pseudo labels alone (no soft term): only the unlabeled images need an entry
    _check(_model(path, distill=dict(RCN_ONLY, rcn_cls=None)), TrainingImage(missing, 'train'),
           TrainingImage(str(tmp_path / 'unlabeled' / 'a.png'), 'unlabeled', unlabeled=True))


def test_ambiguous_files_are_refused_when_read(tmp_path):
    with pytest.raises(ValueError, match=r"images\[1\] repeats file_name 'train/img.png' \(image ids 0 and 1\)"):
        TeacherResults(_file(tmp_path, [_image(0, 'train/img.png'), _image(1, './train/img.png')]))
    with pytest.raises(ValueError, match=r"images\[1\] repeats image id 0 \(of 'a.png'\)"):
        TeacherResults(_file(tmp_path, [_image(0, 'a.png'), _image(0, 'b.png')]))


def test_a_hidden_folder_keeps_its_dot(tmp_path):
    image = str(tmp_path / '.cache' / 'x.png')
    path = _file(tmp_path, [_image(0, '.cache/x.png')], [_det(0, [10, 10, 30, 30])], root=str(tmp_path))
    results = TeacherResults(path)
    assert results.file_names() == ['.cache/x.png'] and len(results.get(image).boxes) == 1
    _check(_model(path), TrainingImage(image, 'train', 128, 96))


@pytest.mark.parametrize('cut', [0, 40, -10])
def test_a_truncated_or_empty_file_is_named(tmp_path, cut):
    whole = open(_file(tmp_path, [_image(0, 'a.png')], [_det(0, [1, 1, 9, 9])])).read()
    path = tmp_path / 'broken.json'
    path.write_text(whole[:cut])  # an interrupted write
    with pytest.raises(ValueError, match=rf"teacher results '{path}' (is empty|is not valid JSON)"):
        TeacherResults(str(path))


# ---------------------------------------------------------------------- what is warned about
def test_unlabeled_images_without_a_pseudo_box_are_counted_at_start_up(tmp_path):
    images = [TrainingImage(str(tmp_path / 'u' / f'{i}.png'), 'unlabeled', 128, 96, True) for i in range(3)]
    empty = _file(tmp_path, [_image(i, f'{i}.png') for i in range(3)], name='empty.json')
    warnings = _check(_model(empty, pseudo_label_thr=0.5), *images)
    assert any('3 of the 3 unlabeled images get no pseudo box at pseudo_label_thr=0.5 (it holds no detection on '
               'them; 0 detections in the file): they train as pure background' in w for w in warnings)
    low = _file(tmp_path, [_image(i, f'{i}.png') for i in range(3)],
                [_det(0, [10, 10, 30, 30], score=0.3), _det(1, [10, 10, 30, 30], score=0.6)], name='low.json')
    warnings = _check(_model(low, pseudo_label_thr=0.7), *images)
    assert any('3 of the 3 unlabeled images get no pseudo box at pseudo_label_thr=0.7 (the highest score is 0.6; '
               '2 detections in the file)' in w for w in warnings)
    warnings = _check(_model(low, pseudo_label_thr=0.5), *images)
    assert any('2 of the 3 unlabeled images get no pseudo box' in w for w in warnings)


def test_boxes_outside_the_image_or_of_zero_size_are_dropped_and_counted(tmp_path):
    """A box beyond the image, a box of zero width: counted at start-up, and never pseudo ground truth (the old
    path clamped them to zero-width boxes: a NaN box loss)."""
    image = str(tmp_path / 'u' / 'img.png')
    path = _file(tmp_path, [_image(0, 'img.png')], [_det(0, [10, 10, 50, 40]), _det(0, [200, 10, 240, 40]),
                                                    _det(0, [60, 20, 60, 50])])
    model = _model(path, pseudo_label_thr=0.5)
    warnings = _check(model, TrainingImage(image, 'unlabeled', 128, 96, True))
    assert any('2 detection(s) on 1 training image(s) are outside their image or under 1 pixel' in w for w in warnings)
    teacher = model.distiller.teacher
    labelled = with_pseudo_labels(teacher, torch.zeros(1, 3, 1, 1), [_sample(image, unlabeled=True)], 0.5)[0]
    assert labelled.gt_instances.bboxes.tolist() == [[10., 10., 50., 40.]]
    assert teacher.dropped_boxes.count == 2


def test_a_box_a_crop_cuts_away_is_dropped_and_counted(tmp_path):
    """RandomCrop(allow_negative_crop=True) moved the image 60 px left: the box at x 10-50 falls outside the crop,
    clamped to zero width it became pseudo ground truth and loss_bbox turned NaN."""
    image = str(tmp_path / 'u' / 'img.png')
    path = _file(tmp_path, [_image(0, 'img.png')], [_det(0, [10, 10, 50, 40]), _det(0, [70, 10, 110, 40])])
    model = _model(path)
    crop = np.array([[1, 0, -60], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
    sample = _sample(image, unlabeled=True, matrix=crop, img_shape=(96, 68))
    teacher = model.distiller.teacher
    labelled = with_pseudo_labels(teacher, torch.zeros(1, 3, 1, 1), [sample], 0.5)[0]
    assert labelled.gt_instances.bboxes.tolist() == [[10., 10., 50., 40.]]
    assert teacher.dropped_boxes.count == 1
    probs, matched = teacher.match(torch.tensor([[0, 0., 0., 1., 40.]]), [labelled])  # the cut box: no soft target
    assert matched.tolist() == [False] and teacher.dropped_boxes.count == 1  # counted once per image and step


# ---------------------------------------------------------------------- the temperature
@pytest.mark.parametrize('T', [1.0, 4.0])
def test_the_black_box_soft_target_is_the_white_box_teachers_at_the_same_temperature(tmp_path, T):
    """Stored probabilities p are a network teacher's softmax(z): at temperature T the soft term must read
    softmax(z / T) = softmax(log p / T) on both paths (it read p itself on the black-box path)."""
    cfg = kd_cfg()
    cfg.distill = dict(RCN_ONLY, rcn_cls=dict(type='WeightedSoftCrossEntropyLoss', mu=0.5, bg_weight=1.5, T=T))
    torch.manual_seed(0)
    white = build(cfg)
    rois = torch.tensor([[0, 10., 10., 50., 40.], [0, 60., 20., 100., 80.], [0, 0., 30., 30., 90.]])
    image = str(tmp_path / 'img.png')
    samples = [_sample(image)]
    torch.manual_seed(1)
    inputs = torch.randn(1, 3, 96, 128)
    z = white.distiller.teacher.forward(TeacherRequest(inputs, samples, [[]], rois=rois, rcn_temperature=T)).rcn_cls
    p = torch.softmax(z.double(), dim=1)
    p = (p / p.sum(dim=1, keepdim=True)).tolist()
    detections = [_det(0, box, probs=probs) for box, probs in zip(rois[:, 1:].tolist(), p)]
    path = _file(tmp_path, [_image(0, 'img.png')], detections)
    black = _model(path, distill=cfg.distill)
    answer = black.distiller.teacher.forward(TeacherRequest(inputs, samples, [[]], rois=rois, rcn_temperature=T))
    assert answer.rcn_covered.all()
    assert torch.allclose(F.softmax(answer.rcn_cls / T, dim=1), F.softmax(z / T, dim=1), atol=1e-5)
    student = torch.randn(3, NUM_CLASSES + 1)
    term = black.distill_terms['rcn_cls'].loss
    assert torch.allclose(term(student, answer.rcn_cls, torch.ones(3), 3.0), term(student, z, torch.ones(3), 3.0),
                          atol=1e-5)
