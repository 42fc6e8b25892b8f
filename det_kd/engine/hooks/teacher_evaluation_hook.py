"""Evaluates the teacher on the validation set once before training."""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.utils import ProgressBar
from mmdet.registry import HOOKS


@HOOKS.register_module()
class TeacherEvaluationHook(Hook):
    """Runs the validation dataloader and evaluator with the teacher (each teacher of an ensemble) before the
    first training iteration.

    The user sees the teacher's metrics in the log (``teacher/<metric>``) and so knows that the right
    teacher loaded. Skipped when resuming past iteration 0. The teacher sees the validation pipeline's
    images through its own data preprocessor (a teacher configured with ``input_scale != 1`` is
    evaluated at the student's resolution).
    """

    priority = 'LOW'

    def before_train(self, runner) -> None:
        if runner.iter > 0:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        teachers = getattr(model, 'teachers', None)
        if not teachers:
            raise TypeError(f'TeacherEvaluationHook needs a distillation detector, got {type(model).__name__}')
        for index, teacher in enumerate(teachers):
            # One teacher logs ``teacher/<metric>``; an ensemble ``teacher0/<metric>``, ``teacher1/...``.
            self._evaluate(runner, teacher, 'teacher' if len(teachers) == 1 else f'teacher{index}')

    @staticmethod
    def _evaluate(runner, teacher, name: str) -> None:
        loop = runner.val_loop
        runner.logger.info(f'Evaluating the {name} on {len(loop.dataloader.dataset)} validation images')
        progress = ProgressBar(len(loop.dataloader.dataset))
        with torch.no_grad():
            for data_batch in loop.dataloader:
                outputs = teacher.val_step(data_batch)
                loop.evaluator.process(data_samples=outputs, data_batch=data_batch)
                for _ in range(len(outputs)):
                    progress.update()
        metrics = loop.evaluator.evaluate(len(loop.dataloader.dataset))
        for key, value in metrics.items():
            runner.message_hub.update_info(f'{name}/{key}', value)
        runner.logger.info(f'{name}: ' + '  '.join(f'{k}: {v}' for k, v in metrics.items()))
