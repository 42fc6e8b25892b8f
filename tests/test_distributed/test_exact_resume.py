"""A distillation run killed mid-way and resumed ends bit-identical to an uninterrupted one (RNGStateHook)."""
import os.path as osp

import torch
from distributed_helpers import data_root  # noqa: F401  (fixture)
from distributed_helpers import TrainRun, differing_keys, load_state_dict, write_kd_config

# 6 images in batches of 2: 3 iterations per epoch, 6 in all. The distillation weight warms up over 2
# iterations then decays linearly, so the resumed epoch must also continue the schedule; validation
# after epoch 1 must not shift the random streams of the uninterrupted run.
SETTINGS = dict(
    train_cfg=dict(max_epochs=2, val_interval=1),
    train_dataloader=dict(batch_size=2),
    randomness=dict(seed=0, deterministic=True),
    default_hooks=dict(logger=dict(interval=1), rng_state=dict(type='RNGStateHook')))
SCHEDULE = dict(type='DistillationScheduleHook', warmup_iters=2, decay='linear')
IMPORTS = ('det_kd.engine.hooks.rng_state_hook', 'probe_hooks')


def without_rng_state(checkpoint: str, out: str) -> str:
    """A copy of ``checkpoint`` without its random states (as written by MMEngine alone)."""
    content = torch.load(checkpoint, map_location='cpu', weights_only=True)
    del content['rng_state']
    torch.save(content, out)
    return out


def test_killed_and_resumed_run_equals_uninterrupted_run(data_root, tmp_path):
    config = write_kd_config(str(tmp_path / 'kd.py'), [SCHEDULE], IMPORTS, **SETTINGS)
    killed = write_kd_config(str(tmp_path / 'killed.py'),
                             [SCHEDULE, dict(type='KillAtIterHook', iteration=4)], IMPORTS, **SETTINGS)
    full_dir, killed_dir, bare_dir = (str(tmp_path / name) for name in ('full', 'killed', 'bare'))

    # The uninterrupted run, and the same run killed in epoch 2 (after writing epoch_1.pth).
    full_run, killed_run = TrainRun(config, full_dir, data_root), TrainRun(killed, killed_dir, data_root)
    full_run.finish()
    killed_run.finish(expected_returncode=-9)
    checkpoint = osp.join(killed_dir, 'epoch_1.pth')
    assert not osp.isfile(osp.join(killed_dir, 'epoch_2.pth'))
    assert len(torch.load(checkpoint, weights_only=True)['rng_state']) == 1  # one process

    # `--resume` in the killed run's folder; and, for contrast, from the same checkpoint without its states.
    bare_checkpoint = without_rng_state(checkpoint, str(tmp_path / 'epoch_1_without_rng_state.pth'))
    resumed_run = TrainRun(config, killed_dir, data_root, '--resume')
    bare_run = TrainRun(config, bare_dir, data_root, '--resume', bare_checkpoint)
    resumed_log, bare_log = resumed_run.finish(), bare_run.finish()
    assert 'resumed epoch: 1, iter: 3' in resumed_log
    assert 'RNGStateHook: restored' in resumed_log
    assert 'holds no random states' in bare_log

    full = load_state_dict(osp.join(full_dir, 'epoch_2.pth'))
    assert differing_keys(full, load_state_dict(osp.join(killed_dir, 'epoch_2.pth'))) == []
    # Without the states, the RPN / RoI samplers and the random flips draw other numbers after the resume.
    assert differing_keys(full, load_state_dict(osp.join(bare_dir, 'epoch_2.pth')))
