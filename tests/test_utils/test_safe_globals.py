"""MMEngine checkpoints load with ``weights_only=True`` once det_kd is imported, and nothing more does."""
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

import det_kd  # noqa: F401


def test_message_hub_state_round_trips_with_weights_only(tmp_path):
    hub = MessageHub.get_instance('test_safe_globals')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', np.float64(0.5))
    hub.update_info('iter', np.int64(7))
    path = tmp_path / 'ckpt.pth'
    torch.save({'meta': {'message_hub': hub.state_dict(), 'seed': np.int64(3)}}, path)

    loaded = torch.load(path, weights_only=True)

    buffer = loaded['meta']['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    assert buffer.mean() == pytest.approx(1.0)
    assert buffer.current() == pytest.approx(0.5)
    assert loaded['meta']['message_hub']['runtime_info']['iter'] == 7


class _GetattrOnOtherObject:

    def __reduce__(self):
        return getattr, (np.ndarray, '__class__')


class _GetattrOnHistoryBufferInternals:

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


@pytest.mark.parametrize('payload', [_GetattrOnOtherObject(), _GetattrOnHistoryBufferInternals()])
def test_getattr_is_only_allowed_for_history_buffer_statistics(tmp_path, payload):
    path = tmp_path / 'evil.pth'
    torch.save({'x': payload}, path)
    with pytest.raises(pickle.UnpicklingError, match='refused getattr'):
        torch.load(path, weights_only=True)


def test_arbitrary_globals_stay_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'x': print}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
