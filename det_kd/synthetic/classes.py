"""Vocabulary of the synthetic scenes: labelled classes, their palette and the clutter shapes.

Label indices everywhere (scene annotations, every format writer, the MMDetection datasets) are
positions in :data:`SYNTHETIC_CLASSES`.
"""
from __future__ import annotations

from typing import List, Tuple

#: Labelled object classes, in label order. Pairs differ only in details: ``ellipse``/``ring``
#: (a hole), ``pentagon``/``star`` (convex vs. concave five-fold), ``rectangle``/``pentagon``
#: (number of corners).
SYNTHETIC_CLASSES: Tuple[str, ...] = ('ellipse', 'ring', 'rectangle', 'pentagon', 'star')

#: One RGB colour per class for visualisation (a list, as MMDetection's ``metainfo['palette']``
#: expects; a tuple would be read as one colour for every class).
SYNTHETIC_PALETTE: List[Tuple[int, int, int]] = [(220, 20, 60), (0, 130, 200), (255, 160, 0),
                                                 (60, 180, 75), (145, 30, 180)]

#: Unlabelled near-miss shapes used as background clutter (hard negatives).
CLUTTER_SHAPES: Tuple[str, ...] = ('triangle', 'hexagon', 'crescent', 'blob')
