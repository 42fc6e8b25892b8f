"""MMEngine's CheckpointHook with saves that cannot lose the last complete checkpoint."""
import glob
import os
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook
from mmdet.registry import HOOKS

#: Suffix of a checkpoint being written; it is renamed to its final name once complete.
PARTIAL_SUFFIX = '.partial'


def _fsync(path: str) -> None:
    with open(path, 'rb') as stream:
        os.fsync(stream.fileno())


def replace_text_atomically(path: str, text: str) -> None:
    """Writes ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    partial = path + PARTIAL_SUFFIX
    with open(partial, 'w') as stream:
        stream.write(text)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(partial, path)


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """:class:`~mmengine.hooks.CheckpointHook` whose periodic saves are atomic and delete old ones last.

    MMEngine's hook removes the oldest checkpoint *before* writing the new one: with ``max_keep_ckpts=1`` a
    process killed during the save (out of memory, a pre-empted job, Ctrl-C) leaves no complete checkpoint,
    and a half-written ``epoch_N.pth`` that ``--resume`` then fails on. Here the new checkpoint is written
    to ``.epoch_N.pth.partial`` next to its target, flushed to disk and renamed (atomic on a local file
    system); ``last_checkpoint`` is replaced the same way; only then are the checkpoints beyond
    ``max_keep_ckpts`` removed. Leftover ``.partial`` files of a killed save are removed before training.

    Takes every argument of ``CheckpointHook``. Non-local storage (``backend_args`` naming a remote
    backend) falls back to MMEngine's behaviour. Best-checkpoint saves (``save_best``) are MMEngine's.
    """

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if isinstance(self.file_backend, LocalBackend) and is_main_process():
            for leftover in glob.glob(osp.join(self.out_dir, f'.*{PARTIAL_SUFFIX}')):
                os.remove(leftover)
                runner.logger.warning(f'SafeCheckpointHook: removed {leftover}, an incomplete save of an '
                                      'earlier run that was interrupted')

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        if not isinstance(self.file_backend, LocalBackend):
            return super()._save_checkpoint_with_step(runner, step, meta)
        stale = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            # The same bookkeeping as MMEngine (saved in the checkpoint, so a resumed run keeps deleting
            # the right files), but the files leave the disk only after the new checkpoint is complete.
            while len(self.keep_ckpt_ids) >= self.max_keep_ckpts:
                stale.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        filename = self.filename_tmpl.format(step)
        self.last_ckpt = osp.join(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        partial_name = f'.{filename}{PARTIAL_SUFFIX}'
        runner.save_checkpoint(
            self.out_dir,
            partial_name,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)
        if not is_main_process():
            return
        partial = osp.join(self.out_dir, partial_name)
        _fsync(partial)
        os.replace(partial, self.last_ckpt)
        replace_text_atomically(osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        for old_step in stale:
            old = osp.join(self.out_dir, self.filename_tmpl.format(old_step))
            if osp.isfile(old) and old != self.last_ckpt:
                os.remove(old)
