"""A teacher known only by its detections: a results file (``tools/pseudo_label.py``, or any detector writing the
format of :mod:`~det_kd.models.distillation.teacher_results`), no weights, no network run during training."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox_overlaps, bbox_project
from torch import Tensor

from ....utils.settings import check_number
from ..box_checks import too_small
from ..teacher_results import ImageDetections, TeacherResults
from .base import TeacherContext, TeacherKind, TeacherOutputs, TeacherRequest
from .combination import probability_logits


@MODELS.register_module()
class TeacherDetections(TeacherKind):
    """Per image, the teacher's boxes, labels, scores and a class-probability vector per box.

    - **Soft classification**: a student's sampled RoI that overlaps a detection by at least ``iou_thr`` (the one
      it overlaps most) gets that detection's probability vector ``p`` as its soft target, handed to the terms as
      the logits ``log p``: a term at temperature ``T`` reads ``softmax(log p / T)``, what a network teacher whose
      probabilities are ``p`` gives at ``T`` (the same target on both paths); the other RoIs have none
      (:attr:`TeacherOutputs.rcn_covered`).
    - **Labels**: the detections label unlabeled images (``KDFasterRCNN.pseudo_label_thr``).

    Boxes go from the original image into the augmented batch through each sample's ``homography_matrix`` (the
    train pipeline's ``PackDetInputs`` must keep it); a box under one pixel there (outside the image, of zero
    size, cut away by a crop) is dropped and counted. An image whose size (``ori_shape``) is not its entry's
    ``width`` / ``height`` is refused, naming the file and the image. Feature, RPN and RoI-regression terms are
    refused.

    Args:
        context (TeacherContext): The student it teaches.
        results (str): The results file.
        iou_thr (float): Defaults to 0.5.
        root (str, optional): The folder the file's ``file_name`` are relative to (default: the file's own
            ``root``, else found at start-up, see :mod:`~det_kd.models.distillation.teacher_results`).
        name (str): How errors name it. Defaults to ``'KDFasterRCNN.teacher'``.
    """
    provides = frozenset({'rcn_cls'})
    covers_every_roi = False

    def __init__(self, context: TeacherContext, results: str, iou_thr: float = 0.5, root: Optional[str] = None,
                 name: str = 'KDFasterRCNN.teacher') -> None:
        super().__init__(context, name)
        if context.student_input_scale != 1.0:
            raise ValueError(f'{name}: a teacher known by its detections needs the student at the batch\'s '
                             f'resolution (student_input_scale=1), got {context.student_input_scale:g}')
        self.results = TeacherResults(results)
        self.dropped_boxes.source = f'{name}.results {results!r}'
        num_classes = context.student.roi_head.bbox_head.num_classes
        if self.results.num_classes != num_classes:
            raise ValueError(f'{name}.results: the file has {self.results.num_classes} classes '
                             f'{self.results.classes}, the student {num_classes}')
        self.iou_thr = float(check_number(iou_thr, f'{name}.iou_thr', 0.0, 1.0, low_open=True))
        if root is not None and not isinstance(root, str):
            raise TypeError(f'{name}.root must be a folder path, got {root!r}')
        self.root = root
        self._last_match = None
        self._counted = set()  # the images whose dropped boxes this step counted

    # ------------------------------------------------------------------ what it knows
    def class_names(self) -> Dict[str, Tuple[str, ...]]:
        return {f'{self.name}.results {self.results.path!r}': tuple(self.results.classes)}

    def label_classes(self) -> Dict[str, int]:
        return {f'{self.name}.results {self.results.path!r}': self.results.num_classes}

    def check_training_images(self, images: Sequence, uses_rcn: bool, pseudo_label_thr: Optional[float]) -> List[str]:
        """Every image the file must answer for (all with the soft term on, the unlabeled ones for pseudo labels)
        has an entry of its size; returns warnings: boxes that will be dropped, unlabeled images that get no
        pseudo box."""
        labels = pseudo_label_thr is not None
        needed = [image for image in images if uses_rcn or (labels and image.unlabeled)]
        datasets: Dict[str, List[str]] = {}
        for image in needed:
            datasets.setdefault(image.dataset, []).append(image.path)
        self.results.bind(datasets.items(), self.root)
        where = f'{self.name}.results {self.results.path!r}'
        for image in needed:
            entry = self.results.find(image.path, self.root)
            self._check_size(entry, image.path, image.height, image.width)
        warnings = []
        outside = self._boxes_outside(needed)
        if outside:
            warnings.append(f'{where}: {outside[0]} detection(s) on {outside[1]} training image(s) are outside their '
                            f'image or under 1 pixel (e.g. {outside[2]!r}); they are dropped')
        unlabeled = [image for image in needed if image.unlabeled]
        if labels and unlabeled:
            entries = [self.results.find(image.path, self.root) for image in unlabeled]
            empty = sum(not bool((entry.scores >= pseudo_label_thr).any()) for entry in entries)
            top = max((float(entry.scores.max()) for entry in entries if len(entry.scores)), default=None)
            if empty:
                best = f'the highest score is {top:.3g}' if top is not None else 'it holds no detection on them'
                warnings.append(f'{where}: {empty} of the {len(unlabeled)} unlabeled images get no pseudo box at '
                                f'pseudo_label_thr={pseudo_label_thr:g} ({best}; {self.results.num_detections} '
                                'detections in the file): they train as pure background')
        return warnings

    def _boxes_outside(self, images: Sequence) -> Optional[Tuple[int, int, str]]:
        """``(boxes, images, an image)`` whose boxes lie outside their entry's size or are under a pixel."""
        count, where, example = 0, 0, ''
        for image in images:
            entry = self.results.find(image.path, self.root)
            if entry.width is None or not len(entry.boxes):
                continue
            boxes = torch.from_numpy(entry.boxes).clone()
            boxes[:, 0::2] = boxes[:, 0::2].clamp(0, entry.width)
            boxes[:, 1::2] = boxes[:, 1::2].clamp(0, entry.height)
            bad = int(too_small(boxes).sum())
            if bad:
                count, where, example = count + bad, where + 1, example or image.path
        return (count, where, example) if count else None

    def _check_size(self, entry: ImageDetections, img_path: str, height: Optional[int], width: Optional[int]) -> None:
        if entry.width is None or height is None or width is None or (entry.height, entry.width) == (height, width):
            return
        raise ValueError(f'{self.name}.results {self.results.path!r}: the detections of {entry.file_name!r} were '
                         f'made on a {entry.width}x{entry.height} image, but the training image {img_path!r} is '
                         f'{width}x{height}: the file was made on images of another size (or other images); run '
                         'tools/pseudo_label.py on the training images as they are on disk')

    # ------------------------------------------------------------------ one step
    def _in_batch(self, sample) -> Tuple[ImageDetections, Tensor, Tensor]:
        """The sample's detections, their boxes in the batch frame and which of them are kept (at least one
        pixel wide and high there; the others are counted as dropped)."""
        img_path = sample.metainfo['img_path']
        detections = self.results.get(img_path, self.root)
        if 'ori_shape' in sample.metainfo:
            height, width = sample.metainfo['ori_shape'][:2]
            self._check_size(detections, img_path, int(height), int(width))
        if 'homography_matrix' not in sample.metainfo:
            raise KeyError(f"{self.name}: the samples carry no 'homography_matrix' (how the pipeline moved the "
                           'image); add it to PackDetInputs meta_keys in the train pipeline')
        matrix = torch.as_tensor(sample.metainfo['homography_matrix'], dtype=torch.float32)
        boxes = bbox_project(torch.from_numpy(detections.boxes), matrix, sample.metainfo['img_shape'][:2])
        keep = ~too_small(boxes)
        return detections, boxes, keep

    def detections(self, inputs: Tensor, samples: SampleList,
                   indices: Sequence[int]) -> List[Tuple[Tensor, Tensor, Tensor]]:
        found = []
        self._counted = set()
        for index in indices:
            detections, boxes, keep = self._in_batch(samples[index])
            self._count_dropped(samples[index], keep)
            found.append((boxes[keep].to(inputs.device), torch.from_numpy(detections.scores)[keep].to(inputs.device),
                          torch.from_numpy(detections.labels)[keep].to(inputs.device)))
        return found

    def match(self, rois: Tensor, samples: SampleList) -> Tuple[Tensor, Tensor]:
        """Per RoI ``(N, 5)``: the class probabilities of the detection it overlaps most and whether that overlap
        reaches ``iou_thr`` (``(N,)`` booleans). The RoIs of a step are matched once."""
        if self._last_match is not None and self._last_match[0] is rois and self._last_match[1] is samples:
            return self._last_match[2]
        probs = rois.new_zeros((rois.size(0), self.results.num_classes + 1))
        matched = torch.zeros(rois.size(0), dtype=torch.bool, device=rois.device)
        for index, sample in enumerate(samples):
            in_image = rois[:, 0] == index
            detections, boxes, keep = self._in_batch(sample)
            self._count_dropped(sample, keep)
            boxes, class_probs = boxes[keep], torch.from_numpy(detections.class_probs)[keep]
            if not in_image.any() or len(boxes) == 0:
                continue
            best_iou, best = bbox_overlaps(rois[in_image, 1:], boxes.to(rois.device)).max(dim=1)
            probs[in_image] = class_probs.to(rois.device)[best]
            matched[in_image] = best_iou >= self.iou_thr
        self._last_match = (rois, samples, (probs, matched))
        self._counted = set()
        return probs, matched

    def _count_dropped(self, sample, keep: Tensor) -> None:
        """Counts the sample's dropped boxes once per step (its pseudo labels and soft targets drop the same)."""
        img_path = sample.metainfo['img_path']
        if img_path not in self._counted:
            self._counted.add(img_path)
            self.dropped_boxes.add(int((~keep).sum()), img_path)

    def rcn_coverage(self, rois: Tensor, samples: SampleList) -> Tensor:
        return self.match(rois, samples)[1]

    def forward(self, request: TeacherRequest) -> TeacherOutputs:
        outputs = TeacherOutputs()
        if request.rois is not None:
            probs, matched = self.match(request.rois, request.samples)
            # log p: the term divides by its T, so its target is softmax(log p / T), a network teacher's at T
            outputs.rcn_cls, outputs.rcn_covered = probability_logits(probs, 1.0), matched
        return outputs
