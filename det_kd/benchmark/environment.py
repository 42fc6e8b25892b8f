"""What a benchmark ran on: the machine, the libraries and how busy the machine was."""
import importlib
import os
import platform
from typing import Dict, Optional, Tuple

import mmcv
import mmdet
import mmengine
import torch

from ..version import __version__


def cpu_model() -> str:
    """The CPU's model name from ``/proc/cpuinfo``, else ``platform.processor()`` or ``'unknown'``."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def usable_cpu_cores() -> int:
    """Cores this process may run on (its CPU affinity), else ``os.cpu_count()``."""
    if hasattr(os, 'sched_getaffinity'):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def load_average() -> Optional[Tuple[float, float, float]]:
    """The 1, 5 and 15 minute load averages (``os.getloadavg()``), or None where unsupported."""
    try:
        return tuple(os.getloadavg())
    except (AttributeError, OSError):
        return None


def package_version(name: str) -> Optional[str]:
    """``<name>.__version__`` of an importable package, None if it is not installed."""
    try:
        return importlib.import_module(name).__version__
    except ImportError:
        return None


def machine_info(device: str = 'cpu', precision: str = 'fp32') -> Dict[str, object]:
    """The fields needed to compare timings taken on different machines.

    Args:
        device (str): The device the models run on, e.g. ``'cpu'`` or ``'cuda:0'``. Defaults to 'cpu'.
        precision (str): The arithmetic the models run in, e.g. ``'fp32'``, ``'fp16'`` (autocast) or
            ``'amp-fp16'``. Defaults to 'fp32'.

    Returns:
        dict: CPU model and cores, torch intra-/inter-op threads and ``OMP_NUM_THREADS`` (None when unset),
        library versions (torchvision None when not installed), the device and, on CUDA, the GPU name,
        CUDA / cuDNN versions and whether ``cudnn.benchmark`` is on.
    """
    info: Dict[str, object] = dict(
        device=str(device),
        cpu_model=cpu_model(),
        cpu_cores=usable_cpu_cores(),
        torch_threads=torch.get_num_threads(),
        torch_interop_threads=torch.get_num_interop_threads(),
        omp_num_threads=os.environ.get('OMP_NUM_THREADS'),
        precision=precision,
        torch=torch.__version__,
        torchvision=package_version('torchvision'),
        mmdet=mmdet.__version__,
        mmcv=mmcv.__version__,
        mmengine=mmengine.__version__,
        det_kd=__version__,
        python=platform.python_version(),
        os=f'{platform.system()} {platform.release()}')
    if torch.device(device).type == 'cuda':
        info.update(
            gpu=torch.cuda.get_device_name(torch.device(device)),
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version(),
            cudnn_benchmark=torch.backends.cudnn.benchmark)
    return info


def describe_machine(info: Dict[str, object]) -> str:
    """One line of prose for a markdown report, from :func:`machine_info`'s dict."""
    text = (f"{info['cpu_cores']} usable CPU cores ({info['cpu_model']}), torch {info['torch']} with "
            f"{info['torch_threads']} intra-op threads, mmdet {info['mmdet']}, mmcv {info['mmcv']}, "
            f"mmengine {info['mmengine']}, Python {info['python']}, {info['os']}; device {info['device']}, "
            f"{info['precision'].upper()}")
    if 'gpu' in info:
        text += (f"; GPU {info['gpu']}, CUDA {info['cuda']}, cuDNN {info['cudnn']}, "
                 f"cudnn.benchmark={info['cudnn_benchmark']}")
    return text
