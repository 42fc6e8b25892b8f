"""FitNets' two stages (Romero et al., ICLR 2015): first the hint alone, then the whole student."""
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmdet.registry import HOOKS

from det_kd.utils.settings import check_number


@HOOKS.register_module()
class FitNetsStagesHook(Hook):
    """Stage 1 for the first ``hint_epochs`` epochs, stage 2 after.

    Stage 1 trains only the student's layers up to its guided layers and the adapters, on the feature terms
    (``distill.loss_hint`` and any feature term of ``distill.terms``): ``Distiller.feature_losses``.
    Stage 2 trains the whole student with every configured term (the paper's, at the schedule of
    ``DistillationScheduleHook``). The stage follows the epoch, so a resumed run continues in the right one.
    Under DDP stage 1 leaves the heads without gradient: wrap the model with
    ``model_wrapper_cfg=dict(type='MMDistributedDataParallel', find_unused_parameters=True)``.

    Args:
        hint_epochs (int): Epochs of stage 1 (>= 1, less than the training's epochs).
    """
    priority = 'NORMAL'

    def __init__(self, hint_epochs: int = 1) -> None:
        self.hint_epochs = int(check_number(hint_epochs, 'FitNetsStagesHook.hint_epochs', 1, integer=True))

    @staticmethod
    def _model(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not hasattr(model, 'hint_stage'):
            raise TypeError(f'FitNetsStagesHook needs a KDFasterRCNN model, got {type(model).__name__}')
        return model

    def before_train(self, runner) -> None:
        model = self._model(runner)
        if not model.feature_terms:
            raise ValueError('FitNetsStagesHook: stage 1 needs a feature term (distill.loss_hint or a term on '
                             'feature pairs in distill.terms); this model has none')
        max_epochs = getattr(runner.train_loop, 'max_epochs', None)
        if max_epochs is None:
            raise ValueError('FitNetsStagesHook counts epochs: use an epoch-based train loop')
        if self.hint_epochs >= max_epochs:
            raise ValueError(f'FitNetsStagesHook.hint_epochs={self.hint_epochs} leaves no stage 2 in '
                             f'{max_epochs} epochs')

    def before_train_epoch(self, runner) -> None:
        model = self._model(runner)
        stage1 = runner.epoch < self.hint_epochs
        if stage1 != model.hint_stage or runner.epoch == 0:
            print_log(f'FitNets stage {1 if stage1 else 2} from epoch {runner.epoch + 1}: '
                      + ('the feature terms only, on the layers up to the guided ones' if stage1 else
                         'the whole student with every distillation term'), logger='current')
        model.hint_stage = stage1

    def after_train(self, runner) -> None:
        self._model(runner).hint_stage = False
