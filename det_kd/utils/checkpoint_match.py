"""Refuses to test a checkpoint that does not hold the weights of the config's model.

MMDetection's ``tools/test.py`` loads checkpoints non-strictly: a checkpoint of another model (a teacher's
for a student config, a backbone-only file) loads with a logged warning and the mAP of a partly random
model is reported with exit code 0. ``tools/test.py`` calls :func:`check_checkpoint_matches_config` first.
"""
import argparse
from typing import List, Sequence

from .checkpoint import read_checkpoint_file

#: Flag of ``tools/test.py`` (not MMDetection's) that tests a checkpoint with missing weights anyway.
ALLOW_FLAG = '--allow-missing-keys'


def missing_model_keys(config: str, checkpoint: str, cfg_options: Sequence[str] = ()) -> List[str]:
    """Keys of the config's model state dict that ``checkpoint`` does not hold (a ``module.`` prefix is
    dropped)."""
    from mmengine.config import Config, DictAction
    from mmengine.registry import init_default_scope

    from mmdet.registry import MODELS

    cfg = Config.fromfile(config)
    if cfg_options:
        parser = argparse.ArgumentParser()
        parser.add_argument('--cfg-options', nargs='+', action=DictAction)
        cfg.merge_from_dict(parser.parse_args(['--cfg-options', *cfg_options]).cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(cfg.model)
    loaded = read_checkpoint_file(checkpoint, 'tools/test.py: checkpoint')
    state_dict = loaded.get('state_dict', loaded) if isinstance(loaded, dict) else {}
    held = {key[len('module.'):] if key.startswith('module.') else key for key in state_dict}
    return sorted(set(model.state_dict()) - held)


def check_checkpoint_matches_config(argv: Sequence[str]) -> List[str]:
    """Raises ``SystemExit`` naming the missing weights if the checkpoint is not the config's model;
    returns ``argv`` without :data:`ALLOW_FLAG`. Remote checkpoints (``://``) are not checked."""
    argv = list(argv)
    if ALLOW_FLAG in argv:
        return [arg for arg in argv if arg != ALLOW_FLAG]
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument('config', nargs='?')
    parser.add_argument('checkpoint', nargs='?')
    parser.add_argument('--cfg-options', nargs='+', default=[])
    args = parser.parse_known_args(argv)[0]
    if args.config is None or args.checkpoint is None or '://' in args.checkpoint:
        return argv  # MMDetection's parser reports what is missing
    missing = missing_model_keys(args.config, args.checkpoint, args.cfg_options)
    if missing:
        shown = ', '.join(missing[:8]) + (' ...' if len(missing) > 8 else '')
        raise SystemExit(f'tools/test.py: checkpoint {args.checkpoint!r} lacks {len(missing)} weight(s) of the model '
                         f'of {args.config!r} ({shown}): it is not this model (a teacher\'s checkpoint for a student '
                         'config?), and MMDetection would report the mAP of a partly random model. Pass '
                         f'{ALLOW_FLAG} to test it anyway.')
    return argv
