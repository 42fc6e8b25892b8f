"""RNGStateHook's pieces: states that survive a weights_only checkpoint, restored only on resume."""
import random
from unittest.mock import MagicMock

import numpy as np
import torch

from det_kd.engine.hooks.rng_state_hook import (RNG_STATE_KEY, RNGStateHook, capture_rng_state,
                                                restore_rng_state)


def draw() -> tuple:
    """One number from each generator the hook keeps."""
    return random.random(), float(np.random.rand()), float(torch.rand(1))


def test_states_round_trip_through_a_weights_only_checkpoint(tmp_path):
    torch.save({RNG_STATE_KEY: [capture_rng_state()]}, tmp_path / 'ckpt.pth')
    expected = draw()
    state = torch.load(tmp_path / 'ckpt.pth', weights_only=True)[RNG_STATE_KEY][0]
    assert isinstance(state['python'], tuple) and state['torch'].dtype == torch.uint8
    assert all(type(word) is int for word in state['numpy']['state']['key'])
    restore_rng_state(state)
    assert draw() == expected


def test_states_are_restored_on_resume_only():
    hook, runner = RNGStateHook(), MagicMock(iter=0)
    checkpoint = {'meta': {'iter': 3}, RNG_STATE_KEY: [capture_rng_state()]}
    expected = draw()

    hook.after_load_checkpoint(runner, checkpoint)  # `load_from`: weights only, the run starts at iteration 0
    hook.before_train_epoch(runner)
    assert draw() != expected

    runner.iter = 3  # `--resume`: the run continues at the checkpoint's iteration
    hook.after_load_checkpoint(runner, checkpoint)
    hook.before_train_epoch(runner)
    assert draw() == expected


def test_validation_leaves_the_random_streams_untouched():
    hook, runner = RNGStateHook(), MagicMock()
    before = capture_rng_state()
    hook.before_val(runner)
    draw()  # validation draws numbers too (each dataloader iterator draws a base seed from torch)
    hook.after_val(runner)
    after_validation = draw()
    restore_rng_state(before)
    assert after_validation == draw()
