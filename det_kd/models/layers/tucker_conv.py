"""A convolution in Tucker-2 form (Kim et al., ICLR 2016): 1x1 projection, ``k x k`` core, 1x1 restoration."""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from mmdet.registry import MODELS
from torch import Tensor, nn

from det_kd.compression.tucker import check_ranks, tucker2_decompose, tucker2_reconstruct

IntOrPair = Union[int, Tuple[int, int]]


@MODELS.register_module()
class TuckerConv2d(nn.Module):
    """``nn.Conv2d`` replaced by its Tucker-2 factorisation with ranks ``(rank_in, rank_out)``.

    Computes ``out_proj(core(in_proj(x)))`` with

    - ``in_proj``: 1x1 conv ``in_channels -> rank_in``, no bias (weight ``U_in^T``);
    - ``core``: ``kernel_size`` conv ``rank_in -> rank_out`` with the original stride, padding and
      dilation, no bias (weight: the core tensor);
    - ``out_proj``: 1x1 conv ``rank_out -> out_channels`` with the original bias (weight ``U_out``).

    ``in_channels``, ``out_channels``, ``kernel_size``, ``stride``, ``padding`` and ``dilation`` mirror
    ``nn.Conv2d``'s attributes, so code that inspects a convolution's shape works on both.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (int | tuple[int, int]): Kernel size of the core.
        ranks (Sequence[int]): ``(rank_in, rank_out)``, each between 1 and its channel count.
        stride (int | tuple[int, int]): Stride of the core. Defaults to 1.
        padding (int | tuple[int, int]): Padding of the core. Defaults to 0.
        dilation (int | tuple[int, int]): Dilation of the core. Defaults to 1.
        bias (bool): Whether ``out_proj`` has a bias. Defaults to True.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 kernel_size: IntOrPair,
                 ranks: Sequence[int],
                 stride: IntOrPair = 1,
                 padding: IntOrPair = 0,
                 dilation: IntOrPair = 1,
                 bias: bool = True) -> None:
        super().__init__()
        rank_in, rank_out = check_ranks(ranks, in_channels, out_channels, name=type(self).__name__)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.ranks = (rank_in, rank_out)
        self.in_proj = nn.Conv2d(in_channels, rank_in, 1, bias=False)
        self.core = nn.Conv2d(
            rank_in, rank_out, kernel_size, stride=stride, padding=padding, dilation=dilation, bias=False)
        self.out_proj = nn.Conv2d(rank_out, out_channels, 1, bias=bias)
        self.kernel_size = self.core.kernel_size
        self.stride = self.core.stride
        self.padding = self.core.padding
        self.dilation = self.core.dilation

    def forward(self, x: Tensor) -> Tensor:
        """Applies the three convolutions.

        Args:
            x (Tensor): ``(N, in_channels, H, W)``.

        Returns:
            Tensor: ``(N, out_channels, H', W')``, as the dense convolution would give.
        """
        return self.out_proj(self.core(self.in_proj(x)))

    @staticmethod
    def decompose(weight: Tensor, bias: Optional[Tensor], ranks: Sequence[int]) -> Dict[str, Tensor]:
        """Tucker-2 parameters of a dense kernel, keyed like this module's ``state_dict``.

        Args:
            weight (Tensor): Dense kernel ``(out_channels, in_channels, kh, kw)``.
            bias (Tensor, optional): Dense bias ``(out_channels, )``, copied to ``out_proj.bias``.
            ranks (Sequence[int]): ``(rank_in, rank_out)``.

        Returns:
            dict[str, Tensor]: ``in_proj.weight``, ``core.weight``, ``out_proj.weight`` and, if ``bias``
            is given, ``out_proj.bias``.
        """
        core, u_out, u_in = tucker2_decompose(weight, ranks)
        params = {
            'in_proj.weight': u_in.t()[:, :, None, None].contiguous(),
            'core.weight': core,
            'out_proj.weight': u_out[:, :, None, None].contiguous(),
        }
        if bias is not None:
            params['out_proj.bias'] = bias.detach().clone()
        return params

    @classmethod
    def from_conv(cls, conv: nn.Conv2d, ranks: Sequence[int]) -> 'TuckerConv2d':
        """The Tucker-2 decomposition of a dense convolution.

        Args:
            conv (nn.Conv2d): A convolution with ``groups == 1``.
            ranks (Sequence[int]): ``(rank_in, rank_out)``.

        Returns:
            TuckerConv2d: On ``conv``'s device and dtype, equal to ``conv`` when the ranks are full.

        Raises:
            ValueError: If ``conv`` is grouped or the ranks do not fit.
        """
        if conv.groups != 1:
            raise ValueError(f'Tucker-2 needs groups=1, got a convolution with groups={conv.groups}')
        tucker = cls(conv.in_channels, conv.out_channels, conv.kernel_size, ranks, conv.stride, conv.padding,
                     conv.dilation, bias=conv.bias is not None)
        tucker.to(conv.weight)
        tucker.load_state_dict(cls.decompose(conv.weight, conv.bias, ranks))
        return tucker

    def dense_weight(self) -> Tensor:
        """The equivalent dense kernel ``(out_channels, in_channels, kh, kw)``."""
        return tucker2_reconstruct(self.core.weight, self.out_proj.weight.flatten(1),
                                   self.in_proj.weight.flatten(1).t())

    def extra_repr(self) -> str:
        return f'{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, ranks={self.ranks}'


def decompose_dense_convs(state_dict: Dict[str, Tensor], model: nn.Module) -> Dict[str, Tensor]:
    """Rewrites dense convolution parameters into the Tucker-2 layers of ``model``.

    For every :class:`TuckerConv2d` of ``model`` at path ``p`` whose dense parameters ``p.weight`` (and
    ``p.bias``) are in ``state_dict`` (e.g. ImageNet weights or a trained uncompressed checkpoint), these
    are replaced by the HOSVD factors ``p.in_proj.weight``, ``p.core.weight``, ``p.out_proj.weight`` and
    ``p.out_proj.bias``. Other keys are kept as they are.

    Args:
        state_dict (dict[str, Tensor]): Parameters keyed like ``model.state_dict()``.
        model (nn.Module): The model that will load the result.

    Returns:
        dict[str, Tensor]: A new state dict; ``state_dict`` is not modified.

    Raises:
        ValueError: If a dense kernel does not have the channels of the Tucker layer it is meant for.
    """
    converted = dict(state_dict)
    for path, module in model.named_modules():
        weight_key = f'{path}.weight' if path else 'weight'
        if not isinstance(module, TuckerConv2d) or weight_key not in converted:
            continue
        weight = converted.pop(weight_key)
        bias = converted.pop(weight_key[:-len('weight')] + 'bias', None)
        expected = (module.out_channels, module.in_channels, *module.kernel_size)
        if tuple(weight.shape) != expected:
            raise ValueError(f'{weight_key}: dense kernel of shape {tuple(weight.shape)} cannot be '
                             f'decomposed into {module!r}, which expects {expected}')
        prefix = f'{path}.' if path else ''
        with torch.no_grad():
            converted.update({prefix + k: v for k, v in module.decompose(weight, bias, module.ranks).items()})
    return converted
