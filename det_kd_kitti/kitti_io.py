"""Reading and writing KITTI object label / result files (2D fields only).

A KITTI label file holds one object per line with 15 space-separated fields
(``type truncated occluded alpha x1 y1 x2 y2 h w l x y z ry``); a result file
adds a 16th field, the score. Only the fields used by the 2D evaluation are
kept: the type, truncation, occlusion, the image box and the score.
"""
import math
import os
import os.path as osp
import warnings
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

PathLike = Union[str, os.PathLike]

NUM_GT_FIELDS = 15
NUM_RESULT_FIELDS = 16


@dataclass
class KittiObjects:
    """The objects of one image, as read from a KITTI label or result file.

    Attributes:
        names (np.ndarray): (N,) object types as ``str``, e.g. ``'Car'``.
        truncated (np.ndarray): (N,) float64 truncation in [0, 1]
            (-1 for DontCare and in result files).
        occluded (np.ndarray): (N,) int64 occlusion state 0..3
            (-1 for DontCare and in result files).
        boxes (np.ndarray): (N, 4) float64 boxes ``x1, y1, x2, y2`` in
            0-based pixel coordinates.
        scores (np.ndarray, optional): (N,) float64 confidences for results;
            None for ground truth. Defaults to None.
    """

    names: np.ndarray
    truncated: np.ndarray
    occluded: np.ndarray
    boxes: np.ndarray
    scores: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.names)


def empty_objects(with_scores: bool) -> KittiObjects:
    """Returns a :class:`KittiObjects` with no objects.

    Args:
        with_scores (bool): Whether to include an empty score array
            (a result) or None (ground truth).

    Returns:
        KittiObjects: Zero-length arrays of the right dtypes and shapes.
    """
    return KittiObjects(
        names=np.zeros(0, dtype=str),
        truncated=np.zeros(0, dtype=np.float64),
        occluded=np.zeros(0, dtype=np.int64),
        boxes=np.zeros((0, 4), dtype=np.float64),
        scores=np.zeros(0, dtype=np.float64) if with_scores else None)


def _parse_number(token: str, path: PathLike, lineno: int) -> float:
    """Parses one finite float field, raising ``ValueError`` with a location."""
    try:
        value = float(token)
    except ValueError:
        raise ValueError(f'{path}:{lineno}: field {token!r} is not a number') from None
    if not math.isfinite(value):
        raise ValueError(f'{path}:{lineno}: field {token!r} is not finite')
    return value


def _parse_occlusion(token: str, path: PathLike, lineno: int) -> int:
    """Parses the occlusion field, which must hold an integer value."""
    value = _parse_number(token, path, lineno)
    if not value.is_integer():
        raise ValueError(f'{path}:{lineno}: occlusion {token!r} is not an integer')
    return int(value)


def parse_kitti_line(line: str, is_result: bool, path: PathLike = '<string>',
                     lineno: int = 1) -> Tuple[str, float, int, List[float], Optional[float]]:
    """Parses one label (15 fields) or result (16 fields) line.

    Args:
        line (str): The text line, without or with its newline.
        is_result (bool): True for a result line (16 fields, last is the score).
        path (str | PathLike): File name used in error messages.
            Defaults to ``'<string>'``.
        lineno (int): 1-based line number used in error messages. Defaults to 1.

    Returns:
        tuple: ``(name, truncated, occluded, [x1, y1, x2, y2], score)``;
        ``score`` is None for a label line.

    Raises:
        ValueError: If the field count is wrong or a numeric field is not a
            finite number; the message starts with ``path:lineno``.
    """
    fields = line.split()
    expected = NUM_RESULT_FIELDS if is_result else NUM_GT_FIELDS
    if len(fields) != expected:
        kind = 'result' if is_result else 'label'
        raise ValueError(f'{path}:{lineno}: a KITTI {kind} line needs {expected} '
                         f'fields, got {len(fields)}')
    numbers = [_parse_number(tok, path, lineno) for tok in fields[1:]]
    occluded = _parse_occlusion(fields[2], path, lineno)
    score = numbers[14] if is_result else None
    return fields[0], numbers[0], occluded, numbers[3:7], score


def read_kitti_file(path: PathLike, is_result: bool) -> KittiObjects:
    """Reads a KITTI label or result file. Blank lines are skipped.

    Args:
        path (str | PathLike): The ``.txt`` file.
        is_result (bool): True for a result file (16 fields per line with a
            score), False for a ground-truth label file (15 fields).

    Returns:
        KittiObjects: The objects in file order.

    Raises:
        ValueError: On a malformed line, naming the file and the 1-based line.
    """
    with open(path, encoding='utf-8') as f:
        lines = f.readlines()
    fields = [line.split() for line in lines]
    fields = [row for row in fields if row]
    if not fields:
        return empty_objects(is_result)
    numbers = _numeric_fields(fields, NUM_RESULT_FIELDS if is_result else NUM_GT_FIELDS)
    if numbers is None:  # a malformed line somewhere: parse line by line for the error that names it
        for lineno, line in enumerate(lines, start=1):
            if line.strip():
                parse_kitti_line(line, is_result, path, lineno)
        raise ValueError(f'{path}: not a KITTI {"result" if is_result else "label"} file')
    return KittiObjects(
        names=np.array([row[0] for row in fields], dtype=str),
        truncated=numbers[:, 0].copy(),
        occluded=numbers[:, 1].astype(np.int64),
        boxes=numbers[:, 3:7].copy(),
        scores=numbers[:, 14].copy() if is_result else None)


def _numeric_fields(fields: List[List[str]], expected: int) -> Optional[np.ndarray]:
    """The numeric fields (all but the type) of well-formed lines as an ``(N, expected - 1)`` array, or None
    when any line has another field count, a field that is not a finite number or a non-integer occlusion
    (:func:`parse_kitti_line` then names the line)."""
    if any(len(row) != expected for row in fields):
        return None
    try:
        numbers = np.array([[float(token) for token in row[1:]] for row in fields], dtype=np.float64)
    except ValueError:
        return None
    if not np.isfinite(numbers).all() or not (numbers[:, 1] == np.round(numbers[:, 1])).all():
        return None
    return numbers


def read_split_file(path: PathLike) -> List[str]:
    """Reads image ids, one per line (e.g. ``000123``); blank lines are skipped.

    Args:
        path (str | PathLike): The split file (e.g. ``ImageSets/val.txt``).

    Returns:
        list[str]: The ids in file order, stripped of surrounding whitespace.
    """
    with open(path, encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip()]


def list_label_ids(label_dir: PathLike) -> List[str]:
    """Lists the ids (file stems) of all ``*.txt`` files in a folder, sorted.

    Args:
        label_dir (str | PathLike): A KITTI ``label_2`` (or result) folder.

    Returns:
        list[str]: Sorted file stems.
    """
    return sorted(name[:-4] for name in os.listdir(label_dir) if name.endswith('.txt'))


def read_gt_dir(label_dir: PathLike, ids: Sequence[str]) -> List[KittiObjects]:
    """Reads the ground-truth label file ``{id}.txt`` of every id.

    Args:
        label_dir (str | PathLike): The ground-truth label folder.
        ids (Sequence[str]): Image ids, e.g. from :func:`read_split_file`.

    Returns:
        list[KittiObjects]: One entry per id, in the order of ``ids``.

    Raises:
        FileNotFoundError: If a label file is missing (the path is named).
    """
    annos = []
    for image_id in ids:
        path = osp.join(label_dir, f'{image_id}.txt')
        if not osp.isfile(path):
            raise FileNotFoundError(f'ground-truth label file not found: {path}')
        annos.append(read_kitti_file(path, is_result=False))
    return annos


def read_result_dir(result_dir: PathLike, ids: Sequence[str]) -> List[KittiObjects]:
    """Reads the result file ``{id}.txt`` of every id; a missing file means no detections.

    Args:
        result_dir (str | PathLike): The folder of result files.
        ids (Sequence[str]): Image ids, e.g. from :func:`read_split_file`.

    Returns:
        list[KittiObjects]: One entry per id, in the order of ``ids``.

    Raises:
        FileNotFoundError: If ``result_dir`` itself does not exist.
    """
    if not osp.isdir(result_dir):
        raise FileNotFoundError(f'result folder not found: {result_dir}')
    annos = []
    for image_id in ids:
        path = osp.join(result_dir, f'{image_id}.txt')
        exists = osp.isfile(path)
        annos.append(read_kitti_file(path, is_result=True) if exists else empty_objects(True))
    return annos


def load_kitti_gt_and_results(
        label_dir: PathLike,
        result_dir: PathLike,
        split_file: Optional[PathLike] = None
) -> Tuple[List[str], List[KittiObjects], List[KittiObjects]]:
    """Reads matching ground-truth and result folders.

    Args:
        label_dir (str | PathLike): Ground-truth label folder (``label_2``).
        result_dir (str | PathLike): Result folder (one file per image).
        split_file (str | PathLike, optional): File of image ids, one per
            line. Defaults to None, meaning every ``*.txt`` in ``label_dir``.

    Returns:
        tuple: ``(ids, gt_annos, dt_annos)``. Result files of images not in
        ``ids`` are not read.
    """
    if not osp.isdir(label_dir):
        raise FileNotFoundError(f'ground-truth label folder not found: {label_dir}')
    ids = read_split_file(split_file) if split_file is not None else list_label_ids(label_dir)
    if not ids:
        raise ValueError(f'split file {split_file} lists no image id' if split_file is not None else
                         f'ground-truth folder {label_dir} holds no *.txt label file')
    gt_annos, dt_annos = read_gt_dir(label_dir, ids), read_result_dir(result_dir, ids)
    found = set(list_label_ids(result_dir))
    matched = [image_id for image_id in ids if image_id in found]
    if not matched:
        raise ValueError(f'no result file in {result_dir} matches an image of the split: expected names such as '
                         f'{[f"{i}.txt" for i in ids[:3]]}, found {[f"{i}.txt" for i in sorted(found)[:3]]} '
                         f'({len(found)} in all). Result files are named like the label files (e.g. 000004.txt)')
    unmatched = len(found - set(ids))
    if unmatched:
        warnings.warn(f'{unmatched} result file(s) in {result_dir} match no image of the split and are ignored '
                      f'(e.g. {sorted(found - set(ids))[:3]})')
    inverted = sum(int(((d.boxes[:, 2] < d.boxes[:, 0]) | (d.boxes[:, 3] < d.boxes[:, 1])).sum()) for d in dt_annos)
    if inverted:
        warnings.warn(f'{inverted} detection(s) in {result_dir} have x2 < x1 or y2 < y1 (zero-area boxes that '
                      'can never match)')
    return ids, gt_annos, dt_annos


def classes_without_ground_truth(gt_annos: Sequence[KittiObjects], classes: Sequence[str]) -> List[str]:
    """The classes of ``classes`` (compared ignoring case, as the evaluation does) that no label holds."""
    present = {str(name).lower() for anno in gt_annos for name in anno.names}
    return [cls for cls in classes if cls.lower() not in present]


def format_result_line(name: str, box: Sequence[float], score: float) -> str:
    """Formats one 16-column result line (2D fields only, others invalid).

    Args:
        name (str): Object type without whitespace, e.g. ``'Car'``.
        box (Sequence[float]): ``x1, y1, x2, y2`` in pixels (written with 2 decimals).
        score (float): Confidence (written with 4 decimals).

    Returns:
        str: ``Name -1 -1 -10 x1 y1 x2 y2 -1 -1 -1 -1000 -1000 -1000 -10 score``.

    Raises:
        ValueError: If ``name`` is empty or contains whitespace.
    """
    if not name or any(c.isspace() for c in name):
        raise ValueError(f'a KITTI object type must be one word, got {name!r}')
    x1, y1, x2, y2 = (float(v) for v in box)
    return (f'{name} -1 -1 -10 {x1:.2f} {y1:.2f} {x2:.2f} {y2:.2f} '
            f'-1 -1 -1 -1000 -1000 -1000 -10 {float(score):.4f}')


def write_kitti_result_file(path: PathLike, names: Sequence[str], boxes: np.ndarray,
                            scores: Sequence[float]) -> None:
    """Writes one KITTI result file (creates the parent folder if needed).

    Args:
        path (str | PathLike): Output ``.txt`` path.
        names (Sequence[str]): (N,) object types.
        boxes (np.ndarray): (N, 4) boxes ``x1, y1, x2, y2``.
        scores (Sequence[float]): (N,) confidences.

    Raises:
        ValueError: If the lengths differ or ``boxes`` is not (N, 4).
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    if not len(names) == len(boxes) == len(scores):
        raise ValueError(f'names, boxes and scores differ in length: '
                         f'{len(names)}, {len(boxes)}, {len(scores)}')
    parent = osp.dirname(osp.abspath(path))
    os.makedirs(parent, exist_ok=True)
    lines = [format_result_line(n, b, s) for n, b, s in zip(names, boxes, scores)]
    with open(path, 'w', encoding='utf-8') as f:
        f.write(''.join(line + '\n' for line in lines))


def write_kitti_result_dir(result_dir: PathLike, results: Dict[str, KittiObjects]) -> None:
    """Writes ``{id}.txt`` for every image id (an empty file for no detections).

    Args:
        result_dir (str | PathLike): Output folder (created if needed).
        results (dict[str, KittiObjects]): Detections per image id; each
            needs ``scores``.
    """
    for image_id, objects in results.items():
        if objects.scores is None:
            raise ValueError(f'results of image {image_id!r} have no scores')
        write_kitti_result_file(
            osp.join(result_dir, f'{image_id}.txt'), objects.names, objects.boxes, objects.scores)
