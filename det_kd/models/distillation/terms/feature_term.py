"""Distillation terms on pairs of feature maps: the pairs, their adapters and alignment, the loop over pairs.

A :class:`FeatureDistillationTerm` holds a list of pairs ``dict(student=..., teacher=..., adapter=...,
align=...)`` (checked by :func:`~det_kd.models.distillation.hint_pairs.check_hint_pairs`), one
:class:`~det_kd.models.distillation.hint_adapter.HintAdapter` per pair (built by the detector's probe, which
reads the channel counts and, for ``align='centre'``, the receptive-field geometry), and sums
:meth:`~FeatureDistillationTerm.pair_loss` over the pairs. The paper's hint and the feature-distillation
family (attention transfer, CWD, PKD) differ only in ``pair_loss``.
"""
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from mmdet.structures import SampleList
from torch import Tensor, nn

from ..hint_adapter import HintAdapter
from ..hint_pairs import check_hint_pairs
from ..receptive_field import Geometry, as_geometry, rescale_geometry
from .base import DistillationInputs, DistillationTerm, HintLayer

#: ``measure(owner, layer) -> Geometry``: receptive-field geometry of ``owner``'s (student / teacher) layer.
GeometryMeasure = Callable[[str, HintLayer], Geometry]


def check_term_name(name: str, where: str) -> str:
    """A term's name becomes its loss key ``loss_<name>`` and its key in ``KDFasterRCNN.distill_terms``."""
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f'{where}: name must be an identifier such as "at", got {name!r}')
    return name


class FeatureDistillationTerm(DistillationTerm):
    """Sum over pairs of feature maps of :meth:`pair_loss` (adapted, aligned student map vs teacher map).

    Args:
        pairs (list[dict]): ``dict(student=layer, teacher=layer, adapter=..., align=...)`` (see
            ``KDFasterRCNN``'s ``distill.hints``); ``adapter`` / ``align`` default to the class's
            :attr:`default_adapter` / ``'pad'``; with ``default_adapter = None`` a pair without ``adapter``
            gets ``'none'`` between equal channel counts and ``'conv1x1'`` otherwise.
        name (str): The loss key is ``loss_<name>``. Defaults to :attr:`default_name`.
    """
    default_name = 'feature'
    default_adapter: Optional[str] = 'conv1x1'
    #: Whether the two maps of a pair must have equal channels after the adapter (False: ``adapter='none'``
    #: is allowed between different channel counts, e.g. attention maps sum the channels away).
    needs_equal_channels = True
    #: How errors name a pair: ``'<pair_label> pair <index> (student ... -> teacher ...)'``.
    pair_label = 'feature'

    def __init__(self, pairs: Sequence[dict], name: Optional[str] = None) -> None:
        super().__init__()
        self.name = check_term_name(name or self.default_name, type(self).__name__)
        self.loss_keys = (f'loss_{self.name}', )
        where = f'{type(self).__name__}.pairs'
        checked = check_hint_pairs(pairs, False, where=where)
        if not checked:
            raise ValueError(f'{where} is empty: give at least one pair, e.g. [dict(student=0, teacher=0)]')
        defaults = {} if self.default_adapter is None else {'adapter': self.default_adapter}
        self.pairs: List[Dict] = [dict(defaults, **pair) for pair in checked]
        self.adapters = nn.ModuleList()
        #: Per pair, ``(student channels after the adapter, teacher channels)`` (set with the adapters).
        self.pair_channels: List[Tuple[int, int]] = []

    def student_layers(self) -> List[HintLayer]:
        return [pair['student'] for pair in self.pairs]

    def teacher_layers(self) -> List[HintLayer]:
        return [pair['teacher'] for pair in self.pairs]

    def pair_name(self, index: int) -> str:
        pair = self.pairs[index]
        return f"{self.pair_label} pair {index} (student {pair['student']!r} -> teacher {pair['teacher']!r})"

    def build_adapters(self, student_maps: Mapping[HintLayer, Tensor], teacher_maps: Mapping[HintLayer, Tensor],
                       measure: GeometryMeasure, input_scales: Mapping[str, float],
                       resolution_ratio: float) -> None:
        """Builds one adapter per pair from probe maps of the paired layers.

        Args:
            student_maps, teacher_maps: ``{layer: map}`` from a probe image (channel counts are read there).
            measure: Receptive-field geometry of a layer, for ``align='centre'`` pairs without a given
                ``student_geometry`` / ``teacher_geometry``.
            input_scales: ``{'student': s, 'teacher': t}``: each model's input scale relative to the batch;
                geometries are converted to the batch's pixels with it.
            resolution_ratio: Teacher pixels per student pixel (``align='pad'`` needs 1).
        """
        adapters, channels = [], []
        for index, pair in enumerate(self.pairs):
            name = self.pair_name(index)
            align = pair.get('align', 'pad')
            if resolution_ratio != 1.0 and align == 'pad':
                raise ValueError(f'{name}: the teacher sees the image {resolution_ratio:g}x the student\'s size '
                                 "(teacher.input_scale, student_input_scale); needs align='resample' or 'centre'")
            geometries = {}
            for owner in ('student', 'teacher'):
                given = pair.get(f'{owner}_geometry')
                if align != 'centre':
                    if given is not None:
                        raise ValueError(f"{name}: {owner}_geometry is only used with align='centre'")
                    continue
                geometry = (as_geometry(given, f'{name}: {owner}_geometry') if given is not None else
                            measure(owner, pair[owner]))
                geometries[f'{owner}_geometry'] = rescale_geometry(geometry, input_scales[owner])
            in_channels = student_maps[pair['student']].shape[1]
            out_channels = teacher_maps[pair['teacher']].shape[1]
            adapter = pair.get('adapter') or ('none' if in_channels == out_channels else 'conv1x1')
            if not self.needs_equal_channels and adapter == 'none':
                out_channels = in_channels
            adapters.append(HintAdapter(in_channels, out_channels, adapter=adapter, align=align, name=name,
                                        **geometries))
            channels.append((out_channels, teacher_maps[pair['teacher']].shape[1]))
        self.adapters = nn.ModuleList(adapters)
        self.pair_channels = channels
        self.build_pair_modules()

    def build_pair_modules(self) -> None:
        """Builds a term's own learnable modules per pair once :attr:`pair_channels` is known (e.g. a
        generator or attention blocks); default: none."""

    def pair_loss(self, student_feat: Tensor, teacher_feat: Tensor, scale: float,
                  mask: Optional[Tensor]) -> Tensor:
        """The term on one pair: ``student_feat`` adapted and aligned to ``teacher_feat``'s ``(H, W)``;
        ``mask`` (``(B, 1, H, W)`` booleans or None): the teacher cells to compare (``align='centre'``)."""
        raise NotImplementedError

    def pair_term(self, index: int, student_feat: Tensor, teacher_feat: Tensor, mask: Optional[Tensor],
                  inputs: DistillationInputs) -> Tensor:
        """The term on pair ``index``; override it instead of :meth:`pair_loss` when the term needs more than
        the two maps (the ground truth in ``inputs.samples``, its own modules of the pair). Default:
        :meth:`pair_loss`."""
        return self.pair_loss(student_feat, teacher_feat, inputs.scale, mask)

    def ground_truth(self, inputs: DistillationInputs, purpose: str) -> SampleList:
        """The batch's samples (ground truth in the batch's frame) for ``purpose``; raises naming the term when
        the step carries none."""
        if inputs.samples is None:
            raise ValueError(f'{type(self).__name__} {self.name!r} needs the batch\'s ground truth '
                             f'(inputs.samples) for its {purpose}')
        return inputs.samples

    def forward(self, inputs: DistillationInputs) -> Dict[str, Tensor]:
        if len(self.adapters) != len(self.pairs):
            raise RuntimeError(f'{type(self).__name__} {self.name!r}: adapters not built (the detector builds '
                               'them from a probe image)')
        total = 0.0
        for index, (pair, adapter) in enumerate(zip(self.pairs, self.adapters)):
            student_map = inputs.student_maps[pair['student']]
            teacher_map = inputs.teacher_maps[pair['teacher']]
            size = teacher_map.shape[-2:]
            mask = adapter.valid_mask(student_map.shape[-2:], size, inputs.img_shapes)
            total = total + self.pair_term(index, adapter(student_map, size), teacher_map, mask, inputs)
        return {self.loss_keys[0]: total}
