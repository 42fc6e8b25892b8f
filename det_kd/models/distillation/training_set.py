"""Start-up checks of a distillation run against its training set: what the model cannot see when it is built.

The student's class names are the training dataset's (``metainfo['classes']``), and a teacher results file must
answer for the training images: neither is known to ``KDFasterRCNN`` until a runner has built the training
dataloader. :func:`check_training_set` runs, before the first iteration, from ``DistillationScheduleHook`` (in
every distillation config) and from ``FiniteLossHook`` (in every det_kd config's ``default_hooks``), once per
model. It

- compares the teacher's class names (its config's training set, its checkpoint's ``dataset_meta``, a results
  file's ``classes``; each ensemble member) with the student's, names and order, whenever the teacher's class
  scores or labels are used (a RoI-head term, or pseudo labels on unlabeled images), and the class counts for
  pseudo labels (which no head term compared when only feature terms are on);
- lets the teacher kind check the images (:meth:`~.teachers.base.TeacherKind.check_training_images`: a
  results file covers every image it must answer for, at the image's size) and the pipelines
  (:meth:`~.teachers.base.TeacherKind.check_training_pipeline`: a cached teacher refuses random transforms).

A run where neither hook ran is told so at its first training step (:func:`warn_if_unchecked`): nothing is
compared quietly or skipped quietly.
"""
import logging
import os.path as osp
from dataclasses import dataclass
from typing import Any, List, Optional

from mmengine.logging import print_log

from ...datasets.unlabeled_images import UnlabeledImageDataset, leaf_datasets
from .class_names import as_class_names, check_same_classes
from .teachers.base import TeacherKind
from .unlabeled import check_label_classes


@dataclass
class TrainingImage:
    """A training image as its dataset lists it: ``path`` (its ``img_path``), the ``dataset`` it comes from (for
    messages), its ``width`` / ``height`` when the dataset knows them, whether it is ``unlabeled``."""
    path: str
    dataset: str
    width: Optional[int] = None
    height: Optional[int] = None
    unlabeled: bool = False


def _dataset_name(index: int, leaf: Any) -> str:
    prefix = getattr(leaf, 'data_prefix', None) or {}
    folder = prefix.get('img') or getattr(leaf, 'data_root', None) or ''
    return f'training dataset {index} ({type(leaf).__name__}{f", {osp.normpath(folder)}" if folder else ""})'


def has_unlabeled_images(dataset: Any) -> bool:
    """Whether the training set holds an :class:`UnlabeledImageDataset`."""
    return any(isinstance(leaf, UnlabeledImageDataset) for leaf in leaf_datasets(dataset))


def training_images(dataset: Any) -> Optional[List[TrainingImage]]:
    """Every image of the training set (its datasets unwrapped), or None if it cannot list them."""
    images = []
    for index, leaf in enumerate(leaf_datasets(dataset)):
        if not hasattr(leaf, 'get_data_info'):
            return None
        name, unlabeled = _dataset_name(index, leaf), isinstance(leaf, UnlabeledImageDataset)
        for position in range(len(leaf)):
            info = leaf.get_data_info(position)
            if not info.get('img_path'):
                return None
            size = [info.get(key) for key in ('width', 'height')]
            width, height = (int(v) if isinstance(v, (int, float)) and v > 0 else None for v in size)
            images.append(TrainingImage(info['img_path'], name, width, height,
                                        unlabeled or bool(info.get('unlabeled', False))))
    return images


def check_training_set(model: Any, dataset: Any) -> List[str]:
    """Checks a distillation model against its training set (once per model; see the module docstring).

    Args:
        model: The (unwrapped) model; anything but a distillation detector is left alone.
        dataset: The training dataloader's dataset.

    Returns:
        list[str]: Warnings, also logged.

    Raises:
        ValueError: Class names or counts that differ (naming both lists and where the teacher's come from), a
            results file entry of another size than its image; KeyError: training images a results file misses.
    """
    distiller = getattr(model, '__dict__', {}).get('distiller')
    if distiller is None or getattr(distiller, 'checked_before_training', False):
        return []
    teacher: TeacherKind = distiller.teacher
    warnings = teacher.check_training_pipeline(dataset)  # e.g. a cache refuses random transforms
    # the images, where the teacher kind checks them (a results file): listing a large set costs seconds
    images = (training_images(dataset) if type(teacher).check_training_images is not TeacherKind.check_training_images
              else None)
    labels = distiller.pseudo_label_thr is not None and (
        has_unlabeled_images(dataset) or any(image.unlabeled for image in images or []))
    if distiller.uses_rcn or labels:
        student = as_class_names((getattr(dataset, 'metainfo', None) or {}).get('classes'))
        known = teacher.class_names()
        use = 'its RoI-head class scores' if distiller.uses_rcn else 'its detections as pseudo labels'
        if student is None:
            warnings.append(f'{teacher.name}: the training set names no classes (metainfo classes), so the '
                            f'classes of the teacher, whose {use} are used, were not compared by name')
        elif not known:
            warnings.append(f'{teacher.name}: the class names it was trained on are unknown (no train_dataloader '
                            'in its config, no dataset_meta in its checkpoint), so only their count was compared '
                            f'with the student\'s {list(student)} ({use} are used)')
        else:
            check_same_classes(student, known, f'KDFasterRCNN: the teacher\'s classes are not the student\'s ({use} '
                                               'are used)')
    if labels:
        check_label_classes(teacher, distiller.student.roi_head.bbox_head.num_classes)
    if type(teacher).check_training_images is not TeacherKind.check_training_images:
        if images is None:
            warnings.append(f'{teacher.name}: the training set cannot list its images, so whether the teacher '
                            'answers for each is checked only as they come')
        else:
            warnings += teacher.check_training_images(images, distiller.uses_rcn,
                                                      distiller.pseudo_label_thr if labels else None)
    distiller.checked_before_training = True
    for warning in warnings:
        print_log(f'start-up check: {warning}', logger='current', level=logging.WARNING)
    return warnings


def warn_if_unchecked(distiller: Any) -> None:
    """At the first training step of a model :func:`check_training_set` never saw (no runner with the hooks),
    says what was not compared, when there is anything to compare (then never again for this model)."""
    distiller.checked_before_training = True
    teacher = distiller.teacher
    unchecked = []
    if distiller.uses_rcn or distiller.pseudo_label_thr is not None:
        known = teacher.class_names()
        if known:
            unchecked.append(f'the teacher\'s class names ({", ".join(known)}) with the training set\'s')
    if type(teacher).check_training_images is not TeacherKind.check_training_images:
        unchecked.append(f'that {teacher.name} answers for every training image')
    if unchecked:
        print_log(f'KDFasterRCNN: training without the start-up checks (they run in DistillationScheduleHook and '
                  f'FiniteLossHook before_train; neither ran), so nothing compared {" nor ".join(unchecked)}',
                  logger='current', level=logging.WARNING)
