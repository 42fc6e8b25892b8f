"""Peak memory of individual calls (CUDA allocator peak, or the process's peak resident memory on CPU)."""
import ctypes
import ctypes.util
from typing import Callable, Optional

import torch

_STATUS = '/proc/self/status'
_CLEAR_REFS = '/proc/self/clear_refs'


def _read_status_kib(field: str) -> int:
    """A ``kB`` field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``) in KiB."""
    with open(_STATUS) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise KeyError(f'{_STATUS} has no {field}')


def _libc_malloc_trim():
    """glibc's ``malloc_trim``, or None where the C library has none."""
    name = ctypes.util.find_library('c')
    try:
        return getattr(ctypes.CDLL(name), 'malloc_trim', None) if name else None
    except OSError:
        return None


def cpu_peak_reset_supported() -> bool:
    """Whether the process's peak RSS can be reset (Linux >= 4.0: ``echo 5 > /proc/self/clear_refs``)."""
    try:
        with open(_CLEAR_REFS, 'w') as f:
            f.write('5')
        _read_status_kib('VmHWM')
        return True
    except (OSError, KeyError):
        return False


class PeakMemoryMeter:
    """Peak memory of a call above the level at the start of the call.

    - CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``, minus
      ``memory_allocated`` before the call: tensor memory held by PyTorch's caching allocator.
    - CPU (Linux): the process's peak resident set size (``VmHWM``, reset through
      ``/proc/self/clear_refs`` to the current RSS before the call) minus the RSS before the call. Freed heap
      memory is first returned to the system (glibc ``malloc_trim``), so memory freed by an earlier call is
      not re-used unseen. It counts every resident page the process touches (tensors, allocator slack,
      Python objects), so it is an upper bound on the tensors' own peak. ``tracemalloc`` cannot see
      torch's allocations, hence this.
    - Elsewhere: nothing is measured (``method == 'unavailable'``).

    The probes (``malloc_trim``, ``/proc`` reads) disturb timings, so measure memory in calls that are not
    timed.

    Args:
        device (str): The device the measured calls run on. Defaults to 'cpu'.
    """

    def __init__(self, device: str = 'cpu') -> None:
        self.device = torch.device(device)
        if self.device.type == 'cuda':
            self.method = 'cuda_max_memory_allocated'
        elif cpu_peak_reset_supported():
            self.method = 'cpu_peak_rss_vmhwm'
        else:
            self.method = 'unavailable'
        self._malloc_trim = _libc_malloc_trim()

    def _start(self) -> int:
        """Resets the peak counter; returns the current level in bytes."""
        if self.method == 'cuda_max_memory_allocated':
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            return torch.cuda.memory_allocated(self.device)
        if self._malloc_trim is not None:
            self._malloc_trim(0)
        with open(_CLEAR_REFS, 'w') as f:
            f.write('5')
        return 1024 * _read_status_kib('VmRSS')

    def _peak(self) -> int:
        """The peak level in bytes since :meth:`_start`."""
        if self.method == 'cuda_max_memory_allocated':
            torch.cuda.synchronize(self.device)
            return torch.cuda.max_memory_allocated(self.device)
        return 1024 * _read_status_kib('VmHWM')

    def measure(self, fn: Callable[[], object]) -> Optional[int]:
        """Runs ``fn()`` once and returns its peak memory above the level at its start, in bytes.

        Returns:
            int | None: The peak, or None where ``method == 'unavailable'`` (``fn`` still runs).
        """
        if self.method == 'unavailable':
            fn()
            return None
        start = self._start()
        fn()
        return self._peak() - start
