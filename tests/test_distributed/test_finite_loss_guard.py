"""FiniteLossHook stops a diverging run at its first non-finite loss, before a checkpoint of that state."""
import glob
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from distributed_helpers import data_root  # noqa: F401  (fixture)
from distributed_helpers import TrainRun, load_state_dict, write_kd_config
from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS

from det_kd.engine.hooks import FiniteLossHook, NonFiniteLossError
from det_kd.engine.hooks.finite_loss_hook import non_finite_terms


def test_non_finite_terms_are_named_with_the_iteration(tmp_path):
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_3.pth'))
    runner = SimpleNamespace(iter=36, epoch=3, work_dir=str(tmp_path))
    outputs = dict(loss=torch.tensor(float('nan')), loss_hint=torch.tensor(float('inf')),
                   loss_cls=torch.tensor(0.5), acc=torch.tensor(float('nan')))
    assert non_finite_terms(outputs) == dict(loss=float('nan'), loss_hint=float('inf')) or \
        set(non_finite_terms(outputs)) == {'loss', 'loss_hint'}
    with pytest.raises(NonFiniteLossError) as raised:
        FiniteLossHook().after_train_iter(runner, 0, outputs=outputs)
    message = str(raised.value)
    assert 'iteration 37 (epoch 4)' in message and 'loss_hint=inf' in message and 'loss=nan' in message
    assert 'loss_cls' not in message and 'acc' not in message  # finite terms and non-loss entries
    assert str(tmp_path / 'epoch_3.pth') in message
    FiniteLossHook().after_train_iter(runner, 0, outputs=dict(loss=torch.tensor(1.0), loss_hint=0.25))


def test_runs_before_the_checkpoint_hook_and_is_on_in_the_configs():
    assert HOOKS.build(dict(type='FiniteLossHook')).priority == 'VERY_HIGH'
    assert CheckpointHook.priority == 'VERY_LOW'
    from mmengine.config import Config
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(osp.join(root, 'configs', 'demo', 'kd_alexnet-w0.25-vgg16-w0.25_hint3-centre_demo.py'))
    assert cfg.default_hooks.finite_loss.type == 'FiniteLossHook'
    assert cfg.default_hooks.checkpoint.type == 'SafeCheckpointHook'


def test_a_diverging_run_stops_with_the_terms_and_keeps_only_finite_checkpoints(data_root, tmp_path):
    config = write_kd_config(str(tmp_path / 'diverging.py'), [dict(type='DistillationScheduleHook')],
                             train_cfg=dict(max_epochs=3, val_interval=10),
                             optim_wrapper=dict(optimizer=dict(lr=1e6), clip_grad=None))
    work_dir = str(tmp_path / 'run')
    log = TrainRun(config, work_dir, data_root).finish(expected_returncode=1)
    assert 'NonFiniteLossError: FiniteLossHook: non-finite loss at iteration' in log
    assert 'loss=' in log and 'Training stopped before any checkpoint' in log
    for checkpoint in glob.glob(osp.join(work_dir, '*.pth')):
        for key, value in load_state_dict(checkpoint).items():
            assert torch.isfinite(value).all(), (checkpoint, key)
