"""What distillation changed, as a picture: ground truth | teacher | baseline | distilled on the validation images
where the two students differ most, from the detections their test runs wrote (``tools/test.py --out``).

An object counts as *found* by a model when one of its detections of the object's class, scored at least the
picture's threshold, overlaps it by IoU 0.5 or more (each detection finds one object, the highest-scored
first, as VOC matching does). The ground-truth panel colours every object by which student finds it: found by
the distilled student only, by the baseline only, by both, by neither; the images drawn are those with the
most objects found by one student and not the other. Boxes and labels are drawn with matplotlib at a fixed
point size, legible at the size the README shows the picture, whatever the image size.
"""
import os
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from .predictions import load_predictions, test_set_annotations

#: Ground-truth colours by which student finds the object.
FOUND_COLOURS = {'distilled only': '#00b050', 'baseline only': '#e03030', 'both': '#4a90e2', 'neither': '#a0a0a0'}
#: Detection colours, one per class (cycled).
CLASS_COLOURS = ('#ff7f0e', '#17becf', '#d62728', '#9467bd', '#2ca02c', '#e377c2', '#bcbd22', '#1f77b4')
LABEL_POINTS = 8
PANEL_INCHES = 3.2


def box_iou(boxes: np.ndarray, other: np.ndarray) -> np.ndarray:
    """``(N, M)`` IoU of ``(N, 4)`` and ``(M, 4)`` boxes ``x1, y1, x2, y2`` (areas as VOC: ``+ 1`` pixel)."""
    if not len(boxes) or not len(other):
        return np.zeros((len(boxes), len(other)))
    x1 = np.maximum(boxes[:, None, 0], other[None, :, 0])
    y1 = np.maximum(boxes[:, None, 1], other[None, :, 1])
    x2 = np.minimum(boxes[:, None, 2], other[None, :, 2])
    y2 = np.minimum(boxes[:, None, 3], other[None, :, 3])
    inter = np.clip(x2 - x1 + 1, 0, None) * np.clip(y2 - y1 + 1, 0, None)
    area = lambda b: (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)  # noqa: E731
    return inter / (area(boxes)[:, None] + area(other)[None, :] - inter)


def found_objects(annotation: dict, detections: Sequence[np.ndarray], score_thr: float,
                  iou_thr: float = 0.5) -> np.ndarray:
    """Which ground-truth objects of one image ``detections`` (per class, ``(K, 5)`` boxes + score) find: a
    boolean per object of ``annotation['bboxes']``."""
    boxes, labels = annotation['bboxes'], annotation['labels']
    found = np.zeros(len(boxes), dtype=bool)
    for label, class_detections in enumerate(detections):
        objects = np.flatnonzero(labels == label)
        kept = class_detections[class_detections[:, 4] >= score_thr]
        kept = kept[np.argsort(-kept[:, 4], kind='stable')]
        overlaps = box_iou(kept[:, :4], boxes[objects])
        for row in overlaps:
            free = np.where(found[objects], -1.0, row)
            if len(free) and free.max() >= iou_thr:
                found[objects[int(free.argmax())]] = True
    return found


def difference_order(annotations: Sequence[dict], baseline: Sequence, distilled: Sequence, score_thr: float) -> \
        List[Tuple[int, int, int]]:
    """``(image index, objects only the distilled student finds, objects only the baseline finds)`` for every
    image, the images where the students differ most first (ties: more found by the distilled student first,
    then test-set order)."""
    rows = []
    for index, annotation in enumerate(annotations):
        by_baseline = found_objects(annotation, baseline[index], score_thr)
        by_distilled = found_objects(annotation, distilled[index], score_thr)
        rows.append((index, int(np.sum(by_distilled & ~by_baseline)), int(np.sum(by_baseline & ~by_distilled))))
    return sorted(rows, key=lambda r: (-(r[1] + r[2]), -r[1], r[0]))


def _draw_boxes(ax, boxes: np.ndarray, colours: Sequence[str], labels: Optional[Sequence[str]],
                image_height: int) -> None:
    """Boxes with their labels above them (inside, under the top edge, for a box at the image's top)."""
    for index, (box, colour) in enumerate(zip(boxes, colours)):
        x1, y1, x2, y2 = (float(v) for v in box[:4])
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=colour, linewidth=1.6))
        if labels:
            at_top = y1 < 0.07 * image_height
            ax.text(x1, y1, labels[index], fontsize=LABEL_POINTS, color='white', va='top' if at_top else 'bottom',
                    ha='left', clip_on=True, bbox=dict(facecolor=colour, edgecolor='none', pad=1.0, alpha=0.85))


def _panel(ax, image: np.ndarray, name: str, show_title: bool) -> None:
    ax.imshow(image)
    ax.set_xticks([])
    ax.set_yticks([])
    if show_title:
        ax.set_title(name, fontsize=11)


def _row(axes, image: np.ndarray, annotation: dict, found: Dict[str, np.ndarray], detections: Dict[str, list],
         classes: Sequence[str], score_thr: float, show_titles: bool) -> None:
    """One image: the ground truth coloured by :data:`FOUND_COLOURS`, then each model's detections."""
    kinds = np.where(found['distilled'] & ~found['baseline'], 'distilled only',
                     np.where(found['baseline'] & ~found['distilled'], 'baseline only',
                              np.where(found['baseline'], 'both', 'neither')))
    _panel(axes[0], image, 'ground truth', show_titles)
    _draw_boxes(axes[0], annotation['bboxes'], [FOUND_COLOURS[k] for k in kinds],
                [classes[label] for label in annotation['labels']], image.shape[0])
    for ax, (name, per_class) in zip(axes[1:], detections.items()):
        _panel(ax, image, name, show_titles)
        shown = [(row, label) for label, rows in enumerate(per_class) for row in rows if row[4] >= score_thr]
        _draw_boxes(ax, np.array([row for row, _ in shown]).reshape(-1, 5),
                    [CLASS_COLOURS[label % len(CLASS_COLOURS)] for _, label in shown],
                    [f'{classes[label]} {row[4]:.2f}' for row, label in shown], image.shape[0])


def _figure(rows: int, columns: int, aspect: float) -> Tuple[Figure, np.ndarray]:
    figure = Figure(figsize=(PANEL_INCHES * columns, PANEL_INCHES * aspect * rows + 1.0))
    FigureCanvasAgg(figure)
    return figure, figure.subplots(rows, columns, squeeze=False)


def _legend(figure: Figure) -> None:
    figure.legend(handles=[Patch(facecolor='none', edgecolor=colour, linewidth=1.6, label=f'object found by {kind}')
                           for kind, colour in FOUND_COLOURS.items()],
                  loc='lower center', ncol=4, fontsize=9, frameon=False)


def draw_predictions(predictions: Mapping[str, str], test_config: str, out_dir: str, num_images: int = 4,
                     score_thr: float = 0.3, title: str = '', compare: Tuple[str, str] = ('baseline', 'distilled')) \
        -> str:
    """Draws the ``num_images`` validation images where the two students of ``compare`` differ most as rows of
    ground truth (coloured by which student finds each object) and each model's detections; writes
    ``out_dir/predictions.png`` and one row per image under ``out_dir/predictions/``. Returns the path of
    ``predictions.png``.

    Args:
        predictions (Mapping[str, str]): Column title to the model's ``tools/test.py --out`` file on
            ``test_config``'s test set, drawn in this order.
        test_config (str): Config whose test set the predictions are of (the baseline's run config).
        score_thr (float): Detections below this score are neither drawn nor count as finding an object.
        title (str): Title above the picture.
        compare (tuple): The titles of the baseline and the distilled student in ``predictions``.
    """
    import mmcv

    paths, annotations, classes = test_set_annotations(test_config)
    detections = {name: load_predictions(path, paths, len(classes)) for name, path in predictions.items()}
    baseline, distilled = (detections[name] for name in compare)
    order = difference_order(annotations, baseline, distilled, score_thr)[:num_images]
    images = [mmcv.imread(paths[index], channel_order='rgb') for index, _, _ in order]
    aspect = images[0].shape[0] / images[0].shape[1]
    figure, axes = _figure(len(order), 1 + len(detections), aspect)
    os.makedirs(osp.join(out_dir, 'predictions'), exist_ok=True)
    for row, ((index, gained, lost), image) in enumerate(zip(order, images)):
        found = dict(baseline=found_objects(annotations[index], baseline[index], score_thr),
                     distilled=found_objects(annotations[index], distilled[index], score_thr))
        per_model = {name: dets[index] for name, dets in detections.items()}
        _row(axes[row], image, annotations[index], found, per_model, classes, score_thr, row == 0)
        axes[row][0].set_ylabel(f'+{gained} / -{lost}', fontsize=9)
        single, single_axes = _figure(1, 1 + len(detections), aspect)
        _row(single_axes[0], image, annotations[index], found, per_model, classes, score_thr, True)
        _legend(single)
        single.tight_layout(rect=(0, 0.06, 1, 1))
        stem = osp.splitext(osp.basename(paths[index]))[0]
        single.savefig(osp.join(out_dir, 'predictions', f'{stem}.png'), dpi=110)
    _legend(figure)
    figure.suptitle(f'{title}\nwhere the students differ most (left: +objects only the distilled student finds / '
                    f'-objects only the baseline finds)\nscore threshold {score_thr}, IoU 0.5'.strip(), fontsize=10)
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    path = osp.join(out_dir, 'predictions.png')
    figure.savefig(path, dpi=110)
    return path
