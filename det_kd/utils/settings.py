"""Build-time checks of numeric settings, with errors that name the setting.

A distillation weight of ``nan`` or ``-1`` trains to the end without an error and saves a NaN or an
inverted model (a negative hint weight maximises the hint error). Every number a det_kd module takes from
a config goes through :func:`check_number` when the module is built.
"""
import math
import numbers
from typing import Optional


def _interval(low: Optional[float], high: Optional[float], low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high:g}"
    return 'finite'


def check_number(value, name: str, low: Optional[float] = None, high: Optional[float] = None,
                 low_open: bool = False, high_open: bool = False, integer: bool = False) -> float:
    """Returns ``value`` if it is a finite real number in the given range; raises naming ``name`` otherwise.

    Args:
        value: The setting (bools and strings are refused: ``mu='0.5'`` is a typo, not 0.5).
        name (str): How the error names the setting, e.g. ``'KDFasterRCNN.distill.rcn_cls.mu'``.
        low (float, optional): Lower bound. Defaults to None (none).
        high (float, optional): Upper bound. Defaults to None (none).
        low_open (bool): Exclude ``low`` itself (``> low``). Defaults to False.
        high_open (bool): Exclude ``high`` itself (``< high``). Defaults to False.
        integer (bool): Require an integer. Defaults to False.

    Returns:
        float | int: ``value`` unchanged (an int when ``integer``).

    Raises:
        TypeError: ``value`` is not a real number (or not an integer when ``integer``).
        ValueError: ``value`` is NaN, infinite or outside the range.
    """
    expected = 'an integer' if integer else 'a number'
    wanted = _interval(low, high, low_open, high_open)
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError(f'{name} must be {expected} {wanted}, got {value!r} ({type(value).__name__})')
    if not math.isfinite(value):
        raise ValueError(f'{name} must be {expected} {wanted}, got {value!r}')
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        raise ValueError(f'{name} must be {expected} {wanted}, got {value!r}')
    return value


#: The lowest distillation temperature accepted. Below it ``softmax(z / T)`` is one-hot in float32 for any
#: logit margin above ``~104 T`` (``exp(-104)`` is under float32's smallest value), i.e. for every margin the
#: logits of a detector take: the "soft" target is the teacher's argmax alone, and a lower ``T`` only scales the
#: loss, by ``1 / T`` without a ``T^2`` factor (``rcn_cls.T=1e-6``: losses of ~1e5) or towards 0 with one
#: (CWD at ``T=1e-8``: ``loss_cwd`` 0.0000, nothing distilled).
MIN_TEMPERATURE = 0.01


def check_temperature(value, name: str) -> float:
    """Returns a distillation temperature ``T`` if it is a finite number >= :data:`MIN_TEMPERATURE`.

    Raises:
        TypeError: Not a number.
        ValueError: NaN, infinite, <= 0, or below :data:`MIN_TEMPERATURE` (the term would be degenerate; the
            message says why).
    """
    check_number(value, name, 0.0, low_open=True)
    if value < MIN_TEMPERATURE:
        raise ValueError(f'{name} must be >= {MIN_TEMPERATURE:g}, got {value!r}: at that temperature softmax(z / T) '
                         'is one-hot in float32 for any logit margin a detector gives, so the soft target is only the '
                         "teacher's argmax and the loss is scaled to a degenerate size (1 / T, or T^2 / T towards 0 "
                         'with a T^2 factor); typical temperatures are 1-10')
    return value
