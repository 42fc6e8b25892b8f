"""Per-call peak memory on the CPU."""
import pytest
import torch

from det_kd.benchmark.memory import PeakMemoryMeter, cpu_peak_reset_supported


@pytest.mark.skipif(not cpu_peak_reset_supported(), reason='needs Linux /proc/self/clear_refs')
def test_cpu_peak_of_a_call():
    meter = PeakMemoryMeter('cpu')
    assert meter.method == 'cpu_peak_rss_vmhwm'
    big = meter.measure(lambda: torch.ones(16 * 2**20))  # 64 MiB, touched, freed on return
    small = meter.measure(lambda: None)
    assert big >= 60 * 2**20
    assert small < big
