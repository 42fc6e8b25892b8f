"""The ``--cfg-options`` that stretch the synthetic configs' 12-epoch schedule to any number of epochs."""
from typing import List


def schedule_options(epochs: int, seed: int) -> List[str]:
    """``--cfg-options`` for ``epochs`` epochs (lr steps at 2/3 and 11/12 as the 12-epoch schedule), no
    validation during training (``val_begin`` past the end: MMEngine validates after the last epoch whatever
    ``val_interval`` says, and the tools test the checkpoint anyway), one checkpoint kept, and the training
    seed."""
    milestones = sorted({max(1, round(epochs * 8 / 12)), max(1, round(epochs * 11 / 12))})
    return [f'train_cfg.max_epochs={epochs}', f'train_cfg.val_interval={epochs + 1}', f'train_cfg.val_begin={epochs + 1}',
            f'param_scheduler.1.end={epochs}', f'param_scheduler.1.milestones={milestones}',
            'default_hooks.checkpoint.max_keep_ckpts=1', f'randomness.seed={seed}']
