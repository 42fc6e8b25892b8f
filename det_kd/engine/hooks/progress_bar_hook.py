"""A progress bar over validation and test loops (MMEngine only logs every N iterations)."""
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmdet.registry import HOOKS
from tqdm import tqdm


@HOOKS.register_module()
class ProgressBarHook(Hook):
    """Shows a tqdm bar while the runner validates or tests, on the main process.

    Args:
        disable (bool, optional): ``None`` (default) shows the bar only when stderr is a terminal, so log
            files and CI output stay clean; ``False`` always shows it; ``True`` never.
    """

    priority = 'VERY_LOW'

    def __init__(self, disable: Optional[bool] = None) -> None:
        self.disable = disable
        self._bar: Optional[tqdm] = None

    def _open(self, runner, loop, desc: str) -> None:
        if is_main_process():
            self._bar = tqdm(total=len(loop.dataloader), desc=desc, unit='batch', disable=self.disable,
                             dynamic_ncols=True)

    def _step(self) -> None:
        if self._bar is not None:
            self._bar.update()

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def before_val_epoch(self, runner) -> None:
        self._open(runner, runner.val_loop, 'val')

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._step()

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._close()

    def before_test_epoch(self, runner) -> None:
        self._open(runner, runner.test_loop, 'test')

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._step()

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._close()
