"""Build-time checks of ``distill.hints``, the list of (student layer, teacher layer) hint pairs.

A misspelled key in a pair used to be ignored (``aling='strict'`` trained with the default alignment, so an
ablation's "Hints" column could silently equal "Hints-A"); these checks refuse it before anything trains.
"""
from typing import Any, Dict, List, Sequence

from .hint_adapter import ADAPTERS, ALIGNMENTS

#: Keys of a hint pair in ``distill.hints``.
HINT_PAIR_KEYS = ('student', 'teacher', 'adapter', 'align', 'student_geometry', 'teacher_geometry')


def check_hint_pairs(hints: Any, hint_loss_on: bool, where: str = 'KDFasterRCNN.distill.hints') -> List[Dict]:
    """Returns the hint pairs as a list of dicts after checking every key and value.

    Args:
        hints: ``distill.hints`` of the config: a list (or tuple) of dicts.
        hint_loss_on (bool): Whether ``distill.loss_hint`` is set; then at least one pair is required.
        where (str): How errors name the setting.

    Raises:
        TypeError: ``hints`` is not a list of dicts, or a layer is neither a module path nor an int index.
        KeyError: A pair has an unknown key (listed with the known ones) or lacks ``student`` / ``teacher``.
        ValueError: An unknown ``adapter`` / ``align``, or no pair while the hint loss is on.
    """
    if isinstance(hints, dict) or not isinstance(hints, Sequence) or isinstance(hints, str):
        raise TypeError(f'{where} must be a list of pairs such as [dict(student=0, teacher=0)], got '
                        f'{type(hints).__name__} {hints!r}')
    if hint_loss_on and not hints:
        raise ValueError(f'{where} is empty while distill.loss_hint is set: give at least one pair '
                         '(e.g. [dict(student=0, teacher=0)]) or set distill.loss_hint=None')
    pairs = []
    for index, pair in enumerate(hints):
        name = f'{where}[{index}]'
        if not isinstance(pair, dict):
            raise TypeError(f'{name} must be a dict such as dict(student=0, teacher=0), got '
                            f'{type(pair).__name__} {pair!r}')
        unknown = sorted(set(pair) - set(HINT_PAIR_KEYS))
        if unknown:
            raise KeyError(f'{name}: unknown keys {unknown} (known: {list(HINT_PAIR_KEYS)})')
        missing = [key for key in ('student', 'teacher') if key not in pair]
        if missing:
            raise KeyError(f'{name}: missing {missing}; a pair names the student and the teacher layer, '
                           'e.g. dict(student=0, teacher=0)')
        for owner in ('student', 'teacher'):
            layer = pair[owner]
            if isinstance(layer, bool) or not isinstance(layer, (int, str)):
                raise TypeError(f'{name}.{owner} must be a module path (str) or an int index into '
                                f'extract_feat outputs, got {layer!r}')
        for key, allowed in (('adapter', ADAPTERS), ('align', ALIGNMENTS)):
            if key in pair and pair[key] not in allowed:
                raise ValueError(f'{name}.{key} must be one of {allowed}, got {pair[key]!r}')
        pairs.append(dict(pair))
    return pairs
