"""A distillation run killed mid-way and resumed ends bit-identical to an uninterrupted one (RNGStateHook)."""
import os.path as osp

import pytest
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
    default_hooks=dict(logger=dict(interval=1), rng_state=dict(type='RNGStateHook'),
                       checkpoint=dict(max_keep_ckpts=1)))
SCHEDULE = dict(type='DistillationScheduleHook', warmup_iters=2, decay='linear')
IMPORTS = ('det_kd.engine.hooks.rng_state_hook', 'probe_hooks')


def without_rng_state(checkpoint: str, out: str) -> str:
    """A copy of ``checkpoint`` without its random states (as written by MMEngine alone)."""
    content = torch.load(checkpoint, map_location='cpu', weights_only=True)
    del content['rng_state']
    torch.save(content, out)
    return out


@pytest.fixture(scope='module')
def uninterrupted(data_root, tmp_path_factory):
    """The config (in a folder of its own) and a function returning the final weights of the run without
    interruption. The run starts here and is waited for when its weights are first asked for, so that it
    trains beside the first test's own runs (one thread each)."""
    folder = tmp_path_factory.mktemp('uninterrupted')
    config = write_kd_config(str(folder / 'kd.py'), [SCHEDULE], IMPORTS, **SETTINGS)
    run, weights = TrainRun(config, str(folder / 'full'), data_root), {}

    def final_weights():
        if not weights:
            run.finish()
            weights.update(load_state_dict(str(folder / 'full' / 'epoch_2.pth')))
        return weights

    yield config, final_weights
    if run.proc.poll() is None:  # a test failed before asking for the weights
        run.proc.kill()
        run.proc.wait()


def test_killed_and_resumed_run_equals_uninterrupted_run(data_root, tmp_path, uninterrupted):
    config, full_weights = uninterrupted
    killed = write_kd_config(str(tmp_path / 'killed.py'),
                             [SCHEDULE, dict(type='KillAtIterHook', iteration=4)], IMPORTS, **SETTINGS)
    killed_dir, bare_dir = (str(tmp_path / name) for name in ('killed', 'bare'))

    # The run killed in epoch 2 (after writing epoch_1.pth).
    TrainRun(killed, killed_dir, data_root).finish(expected_returncode=-9)
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

    full = full_weights()
    assert differing_keys(full, load_state_dict(osp.join(killed_dir, 'epoch_2.pth'))) == []
    # Without the states, the RPN / RoI samplers and the random flips draw other numbers after the resume.
    assert differing_keys(full, load_state_dict(osp.join(bare_dir, 'epoch_2.pth')))


def test_kill_during_a_checkpoint_save_keeps_the_last_checkpoint_and_resumes_exactly(data_root, tmp_path,
                                                                                     uninterrupted):
    """max_keep_ckpts=1: MMEngine's own hook deletes epoch_1.pth before writing epoch_2.pth, so a kill in
    that save leaves nothing to resume from. SafeCheckpointHook (det_kd's default) keeps it."""
    config, full_weights = uninterrupted
    killed = write_kd_config(str(tmp_path / 'killed_in_save.py'),
                             [SCHEDULE, dict(type='KillDuringSaveHook', epoch=2)], IMPORTS, **SETTINGS)
    work_dir = str(tmp_path / 'killed_in_save')
    TrainRun(killed, work_dir, data_root).finish(expected_returncode=-9)
    partial = osp.join(work_dir, '.epoch_2.pth.partial')
    assert osp.getsize(partial) > 0  # the save was under way
    assert not osp.exists(osp.join(work_dir, 'epoch_2.pth'))
    with open(osp.join(work_dir, 'last_checkpoint')) as pointer:
        assert pointer.read().endswith('epoch_1.pth')
    load_state_dict(osp.join(work_dir, 'epoch_1.pth'))  # complete and readable

    resumed_log = TrainRun(config, work_dir, data_root, '--resume').finish()
    assert 'resumed epoch: 1, iter: 3' in resumed_log and 'an incomplete save' in resumed_log
    assert not osp.exists(partial) and not osp.exists(osp.join(work_dir, 'epoch_1.pth'))  # max_keep_ckpts=1
    assert differing_keys(full_weights(), load_state_dict(osp.join(work_dir, 'epoch_2.pth'))) == []
