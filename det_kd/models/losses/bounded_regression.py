r"""Teacher-bounded regression loss of Chen et al. (2017), and the plain L2-to-teacher ablation.

.. math::

    L_b = \|R_s - y\|_2^2 \ \text{if}\ \|R_s - y\|_2^2 + m > \|R_t - y\|_2^2,\ \text{else}\ 0, \qquad
    L_{reg} = \mathrm{SmoothL1}(R_s, y) + \nu L_b,\quad \nu = 0.5.

The gate is evaluated **per sample** (each positive anchor / RoI on its own); the gradient pulls the student
towards the ground truth :math:`y`, the teacher is only the gate. Teacher and student deltas must be in the
same encoding (same box coder means / stds) as the target :math:`y`.
"""
from mmdet.registry import MODELS
from torch import Tensor, nn

from det_kd.utils.settings import check_number


def _check_same_shape(student_deltas: Tensor, teacher_deltas: Tensor, targets: Tensor) -> None:
    if not (student_deltas.shape == teacher_deltas.shape == targets.shape):
        raise ValueError('student deltas, teacher deltas and targets must have the same (N, 4) shape, got '
                         f'{tuple(student_deltas.shape)}, {tuple(teacher_deltas.shape)} and '
                         f'{tuple(targets.shape)}')


def teacher_bound_gate(student_deltas: Tensor,
                       teacher_deltas: Tensor,
                       targets: Tensor,
                       margin: float = 0.0) -> Tensor:
    r"""Where the teacher-bounded term is active: :math:`\|s - y\|^2 + margin > \|t - y\|^2` per sample.

    The squared errors are summed over the 4 deltas (strict ``>``: a student exactly as good as the teacher
    with ``margin = 0`` is not penalised). Used by :func:`teacher_bounded_l2` and by the distillation
    diagnostics (the gate rate).

    Args:
        student_deltas (Tensor): Student regression outputs, shape ``(N, 4)``.
        teacher_deltas (Tensor): Teacher regression outputs for the same samples, shape ``(N, 4)``.
        targets (Tensor): Regression targets :math:`y` in the same encoding, shape ``(N, 4)``.
        margin (float): The margin :math:`m`. Defaults to 0.0.

    Returns:
        Tensor: ``(N,)`` booleans, without gradient.
    """
    _check_same_shape(student_deltas, teacher_deltas, targets)
    student_error = (student_deltas.detach().float() - targets.float()).pow(2).sum(dim=-1)
    teacher_error = (teacher_deltas.detach().float() - targets.float()).pow(2).sum(dim=-1)
    return student_error + margin > teacher_error


def teacher_bounded_l2(student_deltas: Tensor,
                       teacher_deltas: Tensor,
                       targets: Tensor,
                       margin: float = 0.0) -> Tensor:
    r"""Per-sample teacher-bounded L2 loss.

    Returns :math:`\|s - y\|^2` where :math:`\|s - y\|^2 + margin > \|t - y\|^2`, else 0 (strict ``>``:
    a student exactly as good as the teacher with ``margin = 0`` is not penalised).

    Args:
        student_deltas (Tensor): Student regression outputs, shape ``(N, 4)``.
        teacher_deltas (Tensor): Teacher regression outputs for the same samples, shape ``(N, 4)``.
        targets (Tensor): Regression targets :math:`y` in the same encoding, shape ``(N, 4)``.
        margin (float): The margin :math:`m`. Defaults to 0.0.

    Returns:
        Tensor: One value per sample, shape ``(N,)`` (no reduction); gradient only through the student.
    """
    gate = teacher_bound_gate(student_deltas, teacher_deltas, targets, margin)
    return (student_deltas.float() - targets.float()).pow(2).sum(dim=-1) * gate


def teacher_l2(student_deltas: Tensor, teacher_deltas: Tensor) -> Tensor:
    r"""Per-sample plain L2 towards the teacher's outputs, :math:`\|s - t\|^2` (Table 4's "L2" ablation).

    Args:
        student_deltas (Tensor): Student regression outputs, shape ``(N, 4)``.
        teacher_deltas (Tensor): Teacher regression outputs, shape ``(N, 4)``.

    Returns:
        Tensor: One value per sample, shape ``(N,)`` (no reduction).
    """
    _check_same_shape(student_deltas, teacher_deltas, teacher_deltas)
    return (student_deltas.float() - teacher_deltas.detach().float()).pow(2).sum(dim=-1)


@MODELS.register_module()
class TeacherBoundedRegressionLoss(nn.Module):
    r"""The distillation part :math:`\nu L_b` of the regression loss (the smooth-L1 part is the head's own).

    Args:
        nu (float): Weight :math:`\nu` of the distillation term. Defaults to 0.5.
        margin (float): Margin :math:`m` of the bound. Defaults to 0.0 (not given in the paper).
        mode (str): ``'bounded'`` (the paper's :math:`L_b`) or ``'l2'`` (plain L2 to the teacher's
            outputs, Table 4's ablation). Defaults to ``'bounded'``.
    """

    MODES = ('bounded', 'l2')

    def __init__(self, nu: float = 0.5, margin: float = 0.0, mode: str = 'bounded') -> None:
        super().__init__()
        if mode not in self.MODES:
            raise ValueError(f'TeacherBoundedRegressionLoss: mode must be one of {self.MODES}, got {mode!r}')
        self.nu = check_number(nu, 'TeacherBoundedRegressionLoss: nu', 0.0)
        self.margin = check_number(margin, 'TeacherBoundedRegressionLoss: margin', 0.0)
        self.mode = mode

    def forward(self,
                student_deltas: Tensor,
                teacher_deltas: Tensor,
                targets: Tensor,
                weight: Tensor,
                avg_factor: float,
                scale: float = 1.0) -> Tensor:
        r"""Computes :math:`scale \cdot \nu \sum_j w_j L_{b,j} / avg\_factor` over the given samples.

        Args:
            student_deltas (Tensor): ``(N, 4)`` student deltas of the positive samples.
            teacher_deltas (Tensor): ``(N, 4)`` teacher deltas of the same samples.
            targets (Tensor): ``(N, 4)`` regression targets.
            weight (Tensor): ``(N,)`` per-sample weights (the head's regression weights).
            avg_factor (float): The smooth-L1 loss's normaliser, so both terms share :math:`1/N`.
            scale (float): Distillation-schedule multiplier. Defaults to 1.0.

        Returns:
            Tensor: A scalar loss (zero, with a gradient path, when there are no samples).
        """
        if self.mode == 'bounded':
            per_sample = teacher_bounded_l2(student_deltas, teacher_deltas, targets, self.margin)
        else:
            per_sample = teacher_l2(student_deltas, teacher_deltas)
        return scale * self.nu * (per_sample * weight.float()).sum() / max(float(avg_factor), 1.0)

    def extra_repr(self) -> str:
        return f'nu={self.nu}, margin={self.margin}, mode={self.mode!r}'
