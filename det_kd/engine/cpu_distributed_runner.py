"""MMEngine's runner, able to train and test distributed on CPU (the gloo backend) as well."""
import datetime
from typing import Dict, Optional

import torch
from mmengine.dist import is_distributed
from mmengine.model import MMDistributedDataParallel, is_model_wrapper
from mmengine.runner import Runner
from torch import nn
from mmdet.registry import RUNNERS


def init_cpu_process_group(launcher: str, backend: str = 'nccl', timeout: Optional[int] = None, **kwargs) -> None:
    """Initialises ``torch.distributed`` from ``torch.distributed.run``'s environment, without CUDA.

    Args:
        launcher (str): The ``--launcher``; only ``'pytorch'`` (``tools/dist_train.sh``) is supported.
        backend (str): Must be ``'gloo'``. Defaults to 'nccl' (MMDetection's default, refused here).
        timeout (int, optional): Collective timeout in seconds. Defaults to None (torch's default).
        **kwargs: Other arguments of ``torch.distributed.init_process_group``.
    """
    if launcher != 'pytorch':
        raise RuntimeError(f'distributed runs without CUDA need --launcher pytorch (tools/dist_train.sh), '
                           f'got --launcher {launcher}')
    if backend != 'gloo':
        raise ValueError(f'distributed runs without CUDA need the gloo backend, got {backend!r}: add '
                         '--cfg-options env_cfg.dist_cfg.backend=gloo')
    if timeout is not None:
        kwargs['timeout'] = datetime.timedelta(seconds=timeout)
    torch.distributed.init_process_group(backend=backend, **kwargs)


@RUNNERS.register_module()
class CPUDistributedRunner(Runner):
    """:class:`mmengine.runner.Runner` that also runs ``--launcher pytorch`` on machines without CUDA.

    MMEngine 0.10 binds every process to a CUDA device whatever the backend: ``init_dist`` calls
    ``torch.cuda.set_device(LOCAL_RANK)`` and the model is wrapped with ``device_ids=[LOCAL_RANK]``,
    which ``DistributedDataParallel`` refuses for a CPU model. Without CUDA this runner initialises the
    process group itself (:func:`init_cpu_process_group` with ``env_cfg.dist_cfg``) and wraps the model
    in ``MMDistributedDataParallel`` without ``device_ids`` (``find_unused_parameters`` from the config,
    ``broadcast_buffers=False`` as MMEngine). With CUDA it is MMEngine's runner unchanged.
    """

    def setup_env(self, env_cfg: Dict) -> None:
        if self.distributed and not is_distributed() and not torch.cuda.is_available():
            init_cpu_process_group(self.launcher, **env_cfg.get('dist_cfg', {}))
        super().setup_env(env_cfg)

    def wrap_model(self, model_wrapper_cfg: Optional[Dict], model: nn.Module) -> nn.Module:
        if (not self.distributed or torch.cuda.is_available() or model_wrapper_cfg is not None
                or is_model_wrapper(model)):
            return super().wrap_model(model_wrapper_cfg, model)
        return MMDistributedDataParallel(
            module=model, broadcast_buffers=False,
            find_unused_parameters=self.cfg.get('find_unused_parameters', False))
