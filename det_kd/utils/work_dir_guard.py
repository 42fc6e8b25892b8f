"""Refuses to start a training run over the checkpoints of an earlier one.

MMEngine writes ``epoch_N.pth`` into the work directory whatever is there: a rerun into an existing work
dir without ``--resume`` overwrites the earlier run's checkpoints one by one (and ``max_keep_ckpts`` then
deletes the rest). ``tools/train.py`` calls :func:`check_work_dir_is_free` first.
"""
import argparse
import glob
import os.path as osp
from typing import List, Optional, Sequence, Tuple

#: Flag of ``tools/train.py`` (not MMDetection's) that allows starting over in a work dir with checkpoints.
OVERWRITE_FLAG = '--overwrite-work-dir'


def existing_checkpoints(work_dir: str) -> List[str]:
    """Checkpoint files (``*.pth``) and the ``last_checkpoint`` pointer directly in ``work_dir``."""
    found = sorted(glob.glob(osp.join(work_dir, '*.pth')))
    if osp.isfile(osp.join(work_dir, 'last_checkpoint')):
        found.append(osp.join(work_dir, 'last_checkpoint'))
    return found


def _parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument('config', nargs='?')
    parser.add_argument('--work-dir')
    parser.add_argument('--resume', nargs='?', const='auto')
    parser.add_argument('--cfg-options', nargs='+', default=[])
    return parser.parse_known_args(list(argv))[0]


def _configured_work_dir(config: str, cfg_options: Sequence[str]) -> Tuple[Optional[str], bool]:
    """``work_dir`` and whether ``resume`` / ``load_from`` continue a run, as the config file sets them."""
    from mmengine.config import Config

    cfg = Config.fromfile(config)
    overrides = dict(item.partition('=')[::2] for item in cfg_options)
    work_dir = overrides.get('work_dir', cfg.get('work_dir'))
    resume = str(overrides.get('resume', cfg.get('resume', False))) in ('True', 'true', '1')
    return work_dir, resume


def check_work_dir_is_free(argv: Sequence[str]) -> List[str]:
    """Raises ``SystemExit`` naming the checkpoints if training would overwrite them; returns ``argv``
    without :data:`OVERWRITE_FLAG`.

    Training may start when the work directory (``--work-dir``, else the config's ``work_dir``, else
    ``work_dirs/<config name>`` as MMDetection derives it) holds no checkpoint, when it resumes
    (``--resume [CKPT]`` or ``resume=True``), or when ``--overwrite-work-dir`` is given.
    """
    argv = list(argv)
    if OVERWRITE_FLAG in argv:
        return [arg for arg in argv if arg != OVERWRITE_FLAG]
    args = _parse(argv)
    if args.config is None or args.resume is not None or not osp.isfile(args.config):
        return argv  # MMDetection's own parser reports a missing config
    configured, resume = _configured_work_dir(args.config, args.cfg_options)
    work_dir = args.work_dir or configured or osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    found = existing_checkpoints(work_dir)
    if found and not resume:
        shown = ', '.join(osp.basename(path) for path in found[:5]) + (' ...' if len(found) > 5 else '')
        raise SystemExit(f'tools/train.py: work dir {work_dir!r} already holds checkpoints of an earlier run '
                         f'({shown}); training would overwrite them. Pass --resume to continue that run, '
                         f'another --work-dir to start a new one, or {OVERWRITE_FLAG} to start over there.')
    return argv
