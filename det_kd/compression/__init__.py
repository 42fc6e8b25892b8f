"""Model compression: Tucker-2 decomposition of convolutions and FLOPs-driven rank selection."""
from .tucker import (ConvSpec, Ranks, check_ranks, conv_macs, conv_specs, relative_error, select_tucker_ranks,
                     tucker2_decompose, tucker2_reconstruct, uniform_ranks)

__all__ = [
    'ConvSpec', 'Ranks', 'check_ranks', 'conv_macs', 'conv_specs', 'relative_error', 'select_tucker_ranks',
    'tucker2_decompose', 'tucker2_reconstruct', 'uniform_ranks'
]
