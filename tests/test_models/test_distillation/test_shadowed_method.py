"""``shadowed_method`` and the recorder built on it: the wrapper is seen only inside the block, on that instance
only, and what the instance held is back afterwards (also after an error, also when nested)."""
import pytest
from torch import nn

from det_kd.models.distillation.recorders import MethodCallRecorder, shadowed_method


class Head(nn.Module):

    def loss(self, x):
        return x + 1

    def loss_and_target(self, x):
        return self.loss(x) * 10


def _plus(amount):
    return lambda original: (lambda x: original(x) + amount)


def test_wrapper_only_inside_the_block_and_only_on_the_instance():
    head, other = Head(), Head()
    with shadowed_method(head, 'loss', _plus(100)):
        assert head.loss(1) == 102
        assert head.loss_and_target(1) == 1020  # the class's callers see the instance's wrapper
        assert other.loss(1) == 2
    assert head.loss(1) == 2
    assert 'loss' not in vars(head)


def test_nested_shadows_unwind_in_order_and_an_error_restores():
    head = Head()
    with shadowed_method(head, 'loss', _plus(100)):
        with pytest.raises(RuntimeError):
            with shadowed_method(head, 'loss', _plus(1000)):
                assert head.loss(1) == 1102
                raise RuntimeError('inside')
        assert head.loss(1) == 102
    assert head.loss(1) == 2 and 'loss' not in vars(head)


def test_recorder_sees_the_shadowed_call_and_restores():
    head = Head()
    with shadowed_method(head, 'loss', _plus(100)), MethodCallRecorder(head, 'loss') as call:
        assert head.loss_and_target(3) == 1040
    assert call.called and call.args == (3, ) and call.result == 104
    assert head.loss(3) == 4 and 'loss' not in vars(head)


def test_a_missing_method_is_named():
    with pytest.raises(AttributeError, match="Head has no method 'get_targets'"):
        with shadowed_method(Head(), 'get_targets', _plus(1)):
            pass
