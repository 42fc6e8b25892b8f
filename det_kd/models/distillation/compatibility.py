"""Build-time checks that a teacher's heads can be compared with the student's, sample by sample."""
from torch import nn


def _coder_signature(coder) -> tuple:
    return (type(coder).__name__, tuple(float(m) for m in getattr(coder, 'means', ())),
            tuple(float(s) for s in getattr(coder, 'stds', ())))


def check_same_box_coder(student_head: nn.Module, teacher_head: nn.Module, where: str) -> None:
    """Raises if the two heads encode regression targets differently (type, means or stds)."""
    student, teacher = _coder_signature(student_head.bbox_coder), _coder_signature(teacher_head.bbox_coder)
    if student != teacher:
        raise ValueError(f'{where}: teacher and student box coders differ (student {student}, teacher '
                         f'{teacher}); their deltas would not be comparable against the same target')
    for owner, head in (('student', student_head), ('teacher', teacher_head)):
        if getattr(head, 'reg_decoded_bbox', False):
            raise ValueError(f'{where}: the {owner} regresses decoded boxes (reg_decoded_bbox=True); '
                             'the bounded loss compares encoded deltas')


def _anchor_sizes(generator, level: int, scale: float = 1.0) -> list:
    """Widths and heights of a level's base anchors, rounded, optionally multiplied by ``scale``."""
    anchors = generator.base_anchors[level]
    return [[round(float(v) * scale, 2) for v in wh] for wh in (anchors[:, 2:] - anchors[:, :2])]


def _describe_level(generator, level: int, scale: float = 1.0) -> str:
    stride = [round(float(v) * scale, 2) for v in generator.strides[level]]
    return f'stride {stride}, anchor sizes (w, h) {_anchor_sizes(generator, level, scale)}'


def check_same_anchor_shapes(student_rpn: nn.Module, teacher_rpn: nn.Module, teacher_scale: float) -> None:
    """For ``rpn_align='resample'``: raises unless every teacher anchor is the student's anchor of the same
    index scaled by the resolution ratio (the same box of the scene), level by level.

    Resampling the teacher's RPN maps onto the student's grid pairs anchor ``a`` with anchor ``a``; with a
    teacher at r times the student's resolution and the same anchor scales, those are boxes of different
    sizes in the scene (the teacher's anchor covers 1 / r of the student's).
    """
    student_gen, teacher_gen = student_rpn.prior_generator, teacher_rpn.prior_generator
    if student_gen.num_levels != teacher_gen.num_levels:
        raise ValueError(f'rpn distillation: the student RPN has {student_gen.num_levels} levels, the '
                         f'teacher {teacher_gen.num_levels}; anchors cannot be matched')
    for level in range(student_gen.num_levels):
        expected = _anchor_sizes(student_gen, level, teacher_scale)
        teacher = _anchor_sizes(teacher_gen, level)
        if len(expected) != len(teacher) or any(abs(e - t) > 1e-2 * max(abs(e), 1.0)
                                                for pair_e, pair_t in zip(expected, teacher)
                                                for e, t in zip(pair_e, pair_t)):
            raise ValueError(
                f"rpn distillation with rpn_align='resample': at level {level} the teacher's anchors are "
                f'{teacher} (w, h in teacher pixels) but the student\'s {_anchor_sizes(student_gen, level)} times '
                f'the resolution ratio {teacher_scale:g} are {expected}: resampling would pair anchors of '
                'different sizes. Scale the teacher\'s anchor_generator (scales or strides) by the ratio, '
                'or switch rpn_cls / rpn_reg off')


def check_same_anchors(student_rpn: nn.Module, teacher_rpn: nn.Module, probe_size: int = 4,
                       teacher_scale: int = 1) -> None:
    """Raises unless both RPNs place the same anchors at every position of every level.

    With ``teacher_scale`` r (the teacher sees the image r times larger, an integer), the student's anchor
    ``a`` at position ``(i, j)`` must be the teacher's anchor ``a`` at ``(r i, r j)`` divided by r: the same
    box of the scene. Compares the anchor grids the two prior generators produce on a ``probe_size`` square
    feature map per level (``r * probe_size`` for the teacher), and the objectness form (sigmoid vs softmax).
    """
    student_gen, teacher_gen = student_rpn.prior_generator, teacher_rpn.prior_generator
    if student_gen.num_levels != teacher_gen.num_levels:
        raise ValueError(f'rpn distillation: the student RPN has {student_gen.num_levels} levels, the '
                         f'teacher {teacher_gen.num_levels}; anchors cannot be matched')
    num_anchors = student_gen.num_base_priors
    student_grids = student_gen.grid_priors([(probe_size, probe_size)] * student_gen.num_levels, device='cpu')
    teacher_size = probe_size * teacher_scale
    teacher_grids = teacher_gen.grid_priors([(teacher_size, teacher_size)] * teacher_gen.num_levels, device='cpu')
    for level, (student_anchors, teacher_anchors) in enumerate(zip(student_grids, teacher_grids)):
        same_count = teacher_anchors.shape[0] == teacher_size * teacher_size * num_anchors[level]
        if same_count:  # (H, W, A, 4) in grid_priors' order, then the positions (r i, r j), in student pixels
            teacher_anchors = teacher_anchors.reshape(teacher_size, teacher_size, -1, 4)
            teacher_anchors = teacher_anchors[::teacher_scale, ::teacher_scale].reshape(-1, 4) / teacher_scale
        if not same_count or student_anchors.shape != teacher_anchors.shape or not bool(
                (student_anchors - teacher_anchors).abs().max() < 1e-4):
            scaled = f' divided by the resolution ratio {teacher_scale}' if teacher_scale != 1 else ''
            raise ValueError(f'rpn distillation: the teacher\'s anchor generator{scaled} differs from the '
                             f'student\'s at level {level} (student: {_describe_level(student_gen, level)}; '
                             f'teacher{scaled}: {_describe_level(teacher_gen, level, 1 / teacher_scale)}); soft '
                             'targets must come from the same anchors. Give the teacher the student\'s '
                             'anchor_generator (scaled by the resolution ratio), or distill.rpn_align='
                             "'resample' if only the strides differ, or switch rpn_cls / rpn_reg off")
    if student_rpn.use_sigmoid_cls != teacher_rpn.use_sigmoid_cls:
        raise ValueError('rpn distillation: one RPN uses a sigmoid objectness and the other a softmax')


def check_same_roi_classes(student_bbox_head: nn.Module, teacher_bbox_head: nn.Module) -> None:
    """Raises unless both RoI box heads have the same classes and regression layout."""
    for attr in ('num_classes', 'reg_class_agnostic', 'custom_cls_channels'):
        student, teacher = getattr(student_bbox_head, attr, None), getattr(teacher_bbox_head, attr, None)
        if student != teacher:
            raise ValueError(f'rcn distillation: roi_head.bbox_head.{attr} differs (student {student}, '
                             f'teacher {teacher})')
