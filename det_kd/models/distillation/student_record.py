"""What the student computes during its own MMDetection loss, recorded for the terms (nothing is recomputed and
nothing changes how the student computes it)."""
import contextlib
from typing import Any, Dict, List, Optional

from torch import Tensor, nn

from .feature_maps import HintLayer, select_map
from .recorders import MethodCallRecorder, ModuleOutputRecorder


class StudentRecord:
    """Within the ``with`` block, records the maps of ``layers``, and the RPN's outputs and anchor targets
    (``rpn``) and the box head's sampled RoIs, outputs and targets (``rcn``) when a term uses them.

    Args:
        student (nn.Module): The two-stage student.
        layers (list): The student layers the terms compare (int indices into ``extract_feat``'s outputs or
            module paths).
        rpn (bool): Record the RPN. rcn (bool): Record the RoI head.
    """

    def __init__(self, student: nn.Module, layers: List[HintLayer], rpn: bool, rcn: bool) -> None:
        self.layers = layers
        self._stack = contextlib.ExitStack()
        self._feats = MethodCallRecorder(student, 'extract_feat')
        self._modules = ModuleOutputRecorder(student, [layer for layer in layers if isinstance(layer, str)],
                                             'student')
        self._rpn_outputs = ModuleOutputRecorder(student, ['rpn_head'] if rpn else [])
        self._rpn_targets = MethodCallRecorder(student.rpn_head, 'get_targets') if rpn else None
        self._rcn = MethodCallRecorder(student.roi_head.bbox_head, 'loss_and_target') if rcn else None

    def __enter__(self) -> 'StudentRecord':
        for recorder in (self._feats, self._modules, self._rpn_outputs, self._rpn_targets, self._rcn):
            if recorder is not None:
                self._stack.enter_context(recorder)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._stack.__exit__(*exc_info)

    @property
    def maps(self) -> Dict[HintLayer, Tensor]:
        """``{layer: map}`` of the recorded layers."""
        return {layer: select_map(layer, self._feats.result, self._modules.outputs, 'student')
                for layer in self.layers}

    @property
    def rpn_outputs(self) -> Optional[tuple]:
        """The RPN's ``(cls maps, reg maps)`` per level (None unless recorded)."""
        return self._rpn_outputs.outputs.get('rpn_head')

    @property
    def rpn_targets(self) -> Optional[tuple]:
        """What the RPN's ``get_targets`` returned (None unless recorded)."""
        return None if self._rpn_targets is None else self._rpn_targets.result

    @property
    def rcn_call(self) -> Optional[MethodCallRecorder]:
        """The box head's ``loss_and_target`` call (``kwargs['rois']``, ``['cls_score']``, ``['bbox_pred']``,
        ``result['bbox_targets']``), None unless recorded."""
        return self._rcn
