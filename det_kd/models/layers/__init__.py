"""Building blocks shared by det_kd's models."""
from .tucker_conv import TuckerConv2d, decompose_dense_convs

__all__ = ['TuckerConv2d', 'decompose_dense_convs']
