"""Hooks the tests load into real training runs (``custom_imports``, this folder on ``PYTHONPATH``)."""
import os
import os.path as osp
import signal

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmdet.registry import HOOKS


@HOOKS.register_module()
class DDPProbeHook(Hook):
    """After training, saves to ``{out_dir}/rank{rank}.pth`` what the DDP test checks on each rank.

    Saved: the wrapper's type and ``find_unused_parameters``, how many teacher parameters / modules the
    wrapper reaches, the iteration count, whether training changed the student, and the student's
    parameters and buffers and the teacher's state dict.

    Args:
        out_dir (str): Folder of the per-rank files.
    """

    def __init__(self, out_dir: str) -> None:
        self.out_dir = out_dir
        self._initial = None

    @staticmethod
    def _student(runner):
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def before_train(self, runner) -> None:
        self._initial = {n: p.detach().clone() for n, p in self._student(runner).named_parameters()}

    def after_train(self, runner) -> None:
        wrapper, student = runner.model, self._student(runner)
        teacher = student.teacher
        wrapped = {id(p) for p in wrapper.parameters()}
        params = {n: p.detach().clone() for n, p in student.named_parameters()}
        os.makedirs(self.out_dir, exist_ok=True)
        torch.save(
            dict(wrapper=type(wrapper).__name__,
                 find_unused_parameters=getattr(wrapper, 'find_unused_parameters', None),
                 teacher_params_in_wrapper=sum(id(p) in wrapped for p in teacher.parameters()),
                 teacher_modules_in_wrapper=[name for name, m in wrapper.named_modules() if m is teacher],
                 world_size=runner.world_size,
                 iters=runner.iter,
                 trained=any(not torch.equal(params[n], p) for n, p in self._initial.items()),
                 params=params,
                 buffers={n: b.detach().clone() for n, b in student.named_buffers()},
                 teacher={k: v.detach().clone() for k, v in teacher.state_dict().items()}),
            osp.join(self.out_dir, f'rank{runner.rank}.pth'))


@HOOKS.register_module()
class KillAtIterHook(Hook):
    """Kills its own process with SIGKILL (no clean-up, like a crash or a pre-emption) after an iteration.

    Args:
        iteration (int): 1-based training iteration after which the process dies.
    """

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 == self.iteration:
            os.kill(os.getpid(), signal.SIGKILL)



@HOOKS.register_module()
class KillDuringSaveHook(Hook):
    """Kills its own process in the middle of writing the checkpoint of an epoch to disk.

    MMEngine pickles a checkpoint into memory, then writes the bytes with ``LocalBackend.put``; for the
    target epoch that write stops after half the bytes and the process dies with SIGKILL (no clean-up):
    a half-written file, as after a crash or a pre-emption during the save.

    Args:
        epoch (int): 1-based epoch whose checkpoint save is interrupted.
    """

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if checkpoint.get('meta', {}).get('epoch') != self.epoch:
            return
        from mmengine.fileio import LocalBackend

        def put_half_then_die(backend, obj: bytes, filepath) -> None:
            with open(filepath, 'wb') as file:
                file.write(obj[:len(obj) // 2])
                file.flush()
                os.fsync(file.fileno())
            os.kill(os.getpid(), signal.SIGKILL)

        LocalBackend.put = put_half_then_die
