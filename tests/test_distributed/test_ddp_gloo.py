"""Two-process DDP training on the CPU (gloo) through ``tools/dist_train.sh``, as a user runs it."""
import os.path as osp

import torch
from distributed_helpers import data_root  # noqa: F401  (fixture)
from distributed_helpers import dist_train, write_kd_config

ITERS_PER_RANK = 3  # 6 images, 2 ranks, 1 image per rank and iteration


def test_two_process_distillation_keeps_ranks_identical_and_teacher_outside_ddp(data_root, tmp_path):
    probe_dir = str(tmp_path / 'probe')
    config = write_kd_config(
        str(tmp_path / 'kd_ddp.py'),
        custom_hooks=[dict(type='DistillationScheduleHook', warmup_iters=2, decay='linear'),
                      dict(type='DDPProbeHook', out_dir=probe_dir)],
        imports=('probe_hooks', 'det_kd.engine.hooks.rng_state_hook'),
        train_cfg=dict(max_epochs=1),
        train_dataloader=dict(batch_size=1),
        default_hooks=dict(logger=dict(interval=1), rng_state=dict(type='RNGStateHook')))
    work_dir = str(tmp_path / 'work')
    output = dist_train(config, work_dir, data_root)
    assert 'loss_rcn_kd_cls' in output

    ranks = [torch.load(osp.join(probe_dir, f'rank{r}.pth'), weights_only=True) for r in range(2)]
    for rank, probe in enumerate(ranks):
        assert probe['world_size'] == 2, rank
        assert probe['wrapper'] == 'MMDistributedDataParallel', rank
        # MMDetection's default; an unused parameter would make DDP fail at the second iteration.
        assert probe['find_unused_parameters'] is False, rank
        assert probe['iters'] == ITERS_PER_RANK, rank
        assert probe['trained'], rank
        assert probe['teacher_params_in_wrapper'] == 0 and probe['teacher_modules_in_wrapper'] == [], rank
    # Gradients are all-reduced, so both ranks hold bit-identical student weights (BatchNorm running
    # statistics stay per rank, as MMEngine does not broadcast buffers).
    params = [probe['params'] for probe in ranks]
    assert set(params[0]) == set(params[1])
    assert [k for k in params[0] if not torch.equal(params[0][k], params[1][k])] == []
    # the hint adapter is trained by DDP too
    assert any(k.startswith('distill_terms.hint.adapters.') for k in params[0])
    assert all(torch.equal(ranks[0]['teacher'][k], ranks[1]['teacher'][k]) for k in ranks[0]['teacher'])

    checkpoint = torch.load(osp.join(work_dir, 'epoch_1.pth'), map_location='cpu', weights_only=True)
    assert len(checkpoint['rng_state']) == 2  # gathered from both ranks, saved by rank 0
    state = checkpoint['state_dict']
    assert not any(key.startswith(('teacher', 'module.')) for key in state)
    assert set(params[0]) <= set(state) <= set(params[0]) | set(ranks[0]['buffers'])
    assert all(torch.equal(state[k], params[0][k]) for k in params[0])
