"""Boxes that would become ground truth or a soft target but are under one pixel once in the batch's frame (a
detection outside its image, of zero size, or cut away by a crop): they are dropped, counted and reported,
never trained on (a zero-width ground-truth box makes the box coder's ``log(w)`` infinite: a NaN loss)."""
import logging

from mmengine.logging import print_log
from torch import Tensor

#: A box narrower or lower than this (pixels of the batch's frame) is dropped.
MIN_BOX_SIZE = 1.0


def too_small(boxes: Tensor, min_size: float = MIN_BOX_SIZE) -> Tensor:
    """``(n,)`` booleans: the ``(n, 4)`` x1 y1 x2 y2 boxes narrower or lower than ``min_size`` (NaN: too)."""
    widths, heights = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    return ~((widths >= min_size) & (heights >= min_size))


class DroppedBoxes:
    """Counts the boxes a teacher's outputs lost this way and logs a warning at the 1st, 10th, 100th... one
    (the count keeps growing in the log without a line per step).

    Args:
        source (str): What the boxes come from, e.g. ``"KDFasterRCNN.teacher.results 'r.json'"``.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.count = 0
        self.images = 0
        self._next_report = 1

    def add(self, dropped: int, img_path: str) -> None:
        """Counts ``dropped`` boxes of the image at ``img_path``."""
        if dropped <= 0:
            return
        self.count += dropped
        self.images += 1
        if self.count >= self._next_report:
            while self._next_report <= self.count:
                self._next_report *= 10
            print_log(f'{self.source}: dropped {self.count} box(es) under {MIN_BOX_SIZE:g} pixel on {self.images} '
                      f'image(s) so far (outside the image, of zero size, or cut away by the pipeline\'s crop; '
                      f'latest: {dropped} on {img_path!r}); they give no ground truth and no soft target',
                      logger='current', level=logging.WARNING)
