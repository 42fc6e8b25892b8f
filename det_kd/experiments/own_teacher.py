"""The user's own trained teacher in the demo (``--teacher CONFIG --teacher-checkpoint CKPT``): any MMDetection
detector trained on the user's classes, checked and matched with the distillation terms that apply to it.

* :func:`check_teacher_classes`: the checkpoint's class names (``meta.dataset_meta.classes``) must be the
  data's, name by name in order, before anything trains.
* :func:`terms_for_teacher`: which of the distillation config's terms the teacher can give. The paper's RPN
  terms compare the two RPNs anchor by anchor: they need a teacher RPN with the student's anchors. Its RCN
  terms run the teacher's RoI head on the student's RoIs: they need a teacher with an RoI head (a two-stage
  detector). Feature terms (the hint, AT, CWD, PKD, FGD, ...) need a teacher map of the student map's stride
  for every pair: a pair whose teacher output has another stride is moved to the teacher output of the
  student's stride (an FPN teacher's level, found by running both backbones and necks on one probe image), or
  dropped when there is none; the adapters take care of the channels. Each change comes with its reason, for
  ``results.md``.
"""
import copy
import math
from typing import Dict, List, Optional, Sequence, Tuple

from .stages import StageError

#: Side of the square probe image the feature strides are measured on (divisible by 128: RetinaNet's P7).
PROBE_SIZE = 256
#: The paper's head terms and the teacher part each one needs.
HEAD_TERMS = dict(rpn_cls='rpn_head', rpn_reg='rpn_head', rcn_cls='roi_head', rcn_reg='roi_head')


def check_teacher_classes(checkpoint: str, classes: Sequence[str]) -> Optional[str]:
    """Raises unless the classes ``checkpoint`` was trained on are ``classes`` (names and order); returns a
    note when the checkpoint does not record them (they cannot be checked).

    Raises:
        StageError: Other classes, another order, or another count, naming both lists.
    """
    from det_kd.models.distillation.class_names import check_same_classes, checkpoint_classes
    from det_kd.utils.checkpoint import read_checkpoint_file

    loaded = read_checkpoint_file(checkpoint, '--teacher-checkpoint')
    names = checkpoint_classes(loaded.get('meta') if isinstance(loaded, dict) else None)
    if names is None:
        return (f'--teacher-checkpoint {checkpoint} records no class names (meta.dataset_meta.classes): the demo '
                'cannot check that it was trained on your classes in your order')
    try:
        check_same_classes(classes, {f'--teacher-checkpoint {checkpoint}': names}, 'your teacher')
    except ValueError as error:
        raise StageError(str(error)) from error
    return None


def input_size_note(teacher_config: str, image_size: Sequence[int], input_size: Sequence[int]) -> Optional[str]:
    """A sentence for ``results.md`` when the given teacher's config feeds an ``image_size`` image to its model at
    another size than the demo's ``input_size`` (W, H; more than 10 % apart): in distillation the teacher sees the
    student's batch, objects at another scale than it was trained on; None when the sizes agree."""
    from .latency import model_input_size

    teacher_size = model_input_size(teacher_config, tuple(image_size))
    if all(abs(t - s) <= 0.1 * s for t, s in zip(teacher_size, input_size)):
        return None
    return (f'the teacher\'s config feeds its model {"x".join(map(str, teacher_size))} images, the demo trains at '
            f'{"x".join(map(str, input_size))}: in distillation the teacher sees the student\'s images, its objects '
            f'{max(input_size) / max(teacher_size):.2f}x the size it was trained on (a teacher trained at another '
            'size gives weaker targets); pass --input-size of the teacher\'s size or train the teacher at the '
            'demo\'s')


def feature_strides(model_cfg: dict, size: int = PROBE_SIZE) -> List[int]:
    """The stride of every ``extract_feat`` output of a detector config (a power of two): its backbone (and
    neck) run on one ``size`` x ``size`` probe image, randomly initialised (no pretrained weights are loaded)."""
    import torch
    from mmengine.config import ConfigDict
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules

    import det_kd  # noqa: F401  (registers det_kd's backbones)
    register_all_modules(init_default_scope=True)
    model = MODELS.build(ConfigDict(copy.deepcopy(dict(model_cfg))))
    model.eval()
    with torch.no_grad():
        features = model.extract_feat(torch.zeros(1, 3, size, size))
    # a network without padding (AlexNet) loses a few border cells: the stride is the nearest power of two
    return [2**max(0, round(math.log2(size / feature.shape[-1]))) for feature in features]


def _owner_strides(pair: dict, student: List[int], teacher: List[int]) -> Tuple[Optional[int], Optional[int]]:
    """The strides of a pair's student and teacher layers (None for a named module: not measured)."""
    def stride(layer, strides):
        return strides[layer] if isinstance(layer, int) and -len(strides) <= layer < len(strides) else None
    return stride(pair['student'], student), stride(pair['teacher'], teacher)


def repaired_pairs(pairs: List[dict], student: List[int], teacher: List[int], where: str,
                   teacher_neck: bool = False) -> Tuple[List[dict], List[str]]:
    """``pairs`` with each teacher layer of another stride than its student layer moved to the teacher output
    of the student's stride (dropped where the teacher has none), and the reasons. A moved centre-aligned pair
    on a teacher with a neck (an FPN level, whose cells the receptive-field probe cannot place: it adds an
    upsampled coarser map) gets ``teacher_geometry=(stride, 0)``, where a padded backbone's cells lie."""
    kept, reasons = [], []
    for pair in pairs:
        s_stride, t_stride = _owner_strides(pair, student, teacher)
        if s_stride is None or t_stride is None or s_stride == t_stride:
            kept.append(pair)
            continue
        if s_stride in teacher:
            moved = dict(pair, teacher=teacher.index(s_stride))
            geometry = ''
            if pair.get('align') == 'centre' and teacher_neck and 'teacher_geometry' not in pair:
                moved['teacher_geometry'] = (s_stride, 0.0)
                geometry = f', its cells centred at {s_stride} * m px (teacher_geometry=({s_stride}, 0))'
            kept.append(moved)
            reasons.append(f'{where}: student output {pair["student"]} (stride {s_stride}) paired with teacher output '
                           f'{moved["teacher"]} (stride {s_stride}) instead of {pair["teacher"]} (stride {t_stride})'
                           f'{geometry}')
        else:
            reasons.append(f'{where}: the pair student {pair["student"]} / teacher {pair["teacher"]} dropped: the '
                           f'teacher has no output of the student\'s stride {s_stride} (its strides: {teacher})')
    return kept, reasons


def terms_for_teacher(distill: dict, teacher_model: dict, student_model: dict,
                      strides: Optional[Tuple[List[int], List[int]]] = None) -> Tuple[dict, List[str]]:
    """``distill`` (a distillation config's ``model.distill``) with the terms the teacher cannot give switched
    off and its feature pairs matched by stride (module docstring); returns it and the reasons of each change.

    Args:
        teacher_model, student_model (dict): The two detectors' model configs.
        strides (tuple, optional): ``(student strides, teacher strides)`` of their ``extract_feat`` outputs;
            measured with :func:`feature_strides` when not given.

    Raises:
        ValueError: No term is left.
    """
    distill = copy.deepcopy(dict(distill))
    reasons = []
    student_anchors = (student_model.get('rpn_head') or {}).get('anchor_generator')
    teacher_anchors = (teacher_model.get('rpn_head') or {}).get('anchor_generator')
    for term, part in HEAD_TERMS.items():
        if distill.get(term, {}) is None:
            continue  # already off
        if part not in teacher_model:
            reasons.append(f'{term}: off, the teacher ({teacher_model.get("type")}) has no {part} (a two-stage '
                           'teacher gives it)')
            distill[term] = None
        elif part == 'rpn_head' and teacher_anchors != student_anchors:
            reasons.append(f'{term}: off, the teacher\'s RPN anchors {teacher_anchors} are not the student\'s '
                           f'{student_anchors} (the RPN terms compare them anchor by anchor)')
            distill[term] = None
    student_strides, teacher_strides = strides or (feature_strides(student_model), feature_strides(teacher_model))
    if distill.get('loss_hint', {}) is not None:
        from det_kd.models.distillation.term_config import PAPER_DISTILL_DEFAULTS
        default_hints = copy.deepcopy(PAPER_DISTILL_DEFAULTS['hints'])  # what KDFasterRCNN uses without `hints`
        hints, why = repaired_pairs(list(distill.get('hints') or default_hints), student_strides,
                                    teacher_strides, 'the hint', 'neck' in teacher_model)
        reasons += why
        if hints:
            distill['hints'] = hints
        else:
            distill['loss_hint'] = None
            reasons.append('the hint: off, no pair left')
    terms = []
    for index, term in enumerate(distill.get('terms') or []):
        name = term.get('type', f'terms[{index}]')
        pairs, why = repaired_pairs(list(term.get('pairs') or []), student_strides, teacher_strides, name,
                                    'neck' in teacher_model)
        reasons += why
        if pairs or not term.get('pairs'):
            terms.append(dict(term, pairs=pairs) if term.get('pairs') else term)
        else:
            reasons.append(f'{name}: off, no pair left')
    if 'terms' in distill:
        distill['terms'] = terms
    left = [t for t in HEAD_TERMS if distill.get(t, {}) is not None] + (
        ['the hint'] if distill.get('loss_hint', {}) is not None else []) + [t.get('type') for t in terms]
    if not left:
        raise ValueError('no distillation term applies to this teacher: ' + '; '.join(reasons))
    return distill, reasons


def used_terms(distill: dict) -> List[str]:
    """The names of the terms a ``model.distill`` dict switches on, for the results."""
    names = [term for term in HEAD_TERMS if distill.get(term, {}) is not None]
    names += ['hint'] if distill.get('loss_hint', {}) is not None else []
    return names + [term.get('type', '?') for term in distill.get('terms') or []]


def describe_terms(per_method: Dict[str, Tuple[dict, List[str]]]) -> str:
    """Markdown lines: for each method (label -> ``(distill, reasons)``) the terms used and why others are
    off or moved."""
    lines = []
    for label, (distill, reasons) in per_method.items():
        head = f'{label}: ' if label else ''
        lines.append(f'- {head}terms used: {", ".join(used_terms(distill))}'
                     + (''.join(f'\n  - {reason}' for reason in reasons) if reasons else ' (all of the config\'s)'))
    return '\n'.join(lines)


def methods_for_teacher(teacher_config: str, student_config: str,
                        methods: Dict[str, Tuple[str, object]]) -> Tuple[Dict[str, object], str]:
    """Every distillation config of the demo (``methods``: role -> ``(label, config file or Config)``) with
    :func:`terms_for_teacher` applied for ``teacher_config``'s detector and ``student_config``'s; returns
    ``({role: Config}, markdown lines saying the terms used and why)``. A config whose teacher sees another
    input scale than the student (Table 2's setting) keeps its pairs: strides measured on one image would not
    tell its levels apart.

    Raises:
        StageError: No term of a method applies to this teacher.
    """
    from mmengine.config import Config

    teacher_model, student_model = (Config.fromfile(path).model for path in (teacher_config, student_config))
    strides = None
    configs, described = {}, {}
    for role, (label, config) in methods.items():
        cfg = copy.deepcopy(config) if isinstance(config, Config) else Config.fromfile(config)
        distill = cfg.model.get('distill') or {}
        distill = distill.to_dict() if hasattr(distill, 'to_dict') else dict(distill)
        teacher = cfg.model.get('teacher')
        if isinstance(teacher, dict) and teacher.get('input_scale', 1) != 1:
            configs[role], described[label] = cfg, (distill, ['the teacher sees another input scale: pairs kept'])
            continue
        strides = strides or (feature_strides(student_model), feature_strides(teacher_model))
        try:
            distill, reasons = terms_for_teacher(distill, teacher_model, student_model, strides)
        except ValueError as error:
            raise StageError(f'{label or "--kd"}: {error}') from error
        cfg.model.distill = distill
        configs[role], described[label] = cfg, (distill, reasons)
    return configs, describe_terms(described)
