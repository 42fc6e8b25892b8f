"""Tucker-2 decomposition of convolution kernels and rank selection for a FLOPs budget.

Kim et al., "Compression of Deep Convolutional Neural Networks for Fast and Low Power Mobile
Applications" (ICLR 2016), compress a convolution with kernel ``W`` of shape ``(C_out, C_in, kh, kw)`` by
a Tucker-2 decomposition along its two channel modes::

    W ~= G x_0 U_out x_1 U_in        G: (R_out, R_in, kh, kw), U_out: (C_out, R_out), U_in: (C_in, R_in)

computed here by HOSVD: ``U_out`` / ``U_in`` are the leading left singular vectors of the mode-0 / mode-1
unfoldings of ``W`` and ``G = W x_0 U_out^T x_1 U_in^T``. The convolution then runs as three convolutions
(see :class:`det_kd.models.layers.TuckerConv2d`): a 1x1 projection to ``R_in`` channels (``U_in^T``), the
``kh x kw`` core ``G`` and a 1x1 restoration to ``C_out`` channels (``U_out``, with the original bias).

FLOPs are counted analytically as multiply-accumulates (one multiply-add = one FLOP) of every
convolution at a given input size; the spatial sizes come from a forward pass on the ``meta`` device, so
no arithmetic is done. Ranks are selected with one global width scalar ``alpha``: every decomposed layer
gets ``R_in = round(alpha * C_in)`` and ``R_out = round(alpha * C_out)`` (so ranks are proportional to the
channels), and ``alpha`` is found by bisection so that the whole network's FLOPs (decomposed layers plus
the layers left intact, e.g. the first convolution on the 3 image channels) meet the requested fraction of
the original FLOPs. Kim et al. chose ranks with variational Bayesian matrix factorisation instead; the
uniform criterion depends on the architecture only, not on the weights, so the same ranks apply to any
checkpoint of a model.
"""
from dataclasses import dataclass
from typing import Dict, Iterable, Mapping, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn
from torch.func import functional_call

Ranks = Tuple[int, int]  # (rank_in, rank_out)

_BISECTION_STEPS = 60


def check_ranks(ranks: Sequence[int], in_channels: int, out_channels: int, name: str = 'conv') -> Ranks:
    """Validates a Tucker-2 rank pair against a convolution's channels.

    Args:
        ranks (Sequence[int]): ``(rank_in, rank_out)``.
        in_channels (int): Input channels of the convolution.
        out_channels (int): Output channels of the convolution.
        name (str): Layer name used in error messages. Defaults to ``'conv'``.

    Returns:
        tuple[int, int]: The ranks as a tuple of ints.

    Raises:
        ValueError: If ``ranks`` is not a pair or a rank is outside ``[1, channels]``.
    """
    if len(ranks) != 2:
        raise ValueError(f'{name}: Tucker-2 ranks must be a pair (rank_in, rank_out), got {ranks!r}')
    rank_in, rank_out = (int(r) for r in ranks)
    if not 1 <= rank_in <= in_channels:
        raise ValueError(f'{name}: rank_in={rank_in} must be in [1, in_channels={in_channels}]')
    if not 1 <= rank_out <= out_channels:
        raise ValueError(f'{name}: rank_out={rank_out} must be in [1, out_channels={out_channels}]')
    return rank_in, rank_out


def _leading_left_singular_vectors(matrix: Tensor, rank: int) -> Tensor:
    """The ``rank`` leading left singular vectors of ``matrix`` as the columns of a matrix."""
    u, _, _ = torch.linalg.svd(matrix, full_matrices=rank > min(matrix.shape))
    return u[:, :rank]


def tucker2_decompose(weight: Tensor, ranks: Sequence[int]) -> Tuple[Tensor, Tensor, Tensor]:
    """HOSVD of a convolution kernel along its output (mode 0) and input (mode 1) channels.

    Computed in float64 and returned in ``weight``'s dtype. With full ranks ``(C_in, C_out)`` the
    factors are orthogonal and :func:`tucker2_reconstruct` gives ``weight`` back up to rounding.

    Args:
        weight (Tensor): Kernel of shape ``(C_out, C_in, kh, kw)``.
        ranks (Sequence[int]): ``(rank_in, rank_out)``.

    Returns:
        tuple[Tensor, Tensor, Tensor]: ``core`` of shape ``(rank_out, rank_in, kh, kw)``, ``u_out`` of
        shape ``(C_out, rank_out)`` and ``u_in`` of shape ``(C_in, rank_in)``.

    Raises:
        ValueError: If ``weight`` is not 4-D or the ranks do not fit its channels.
    """
    if weight.dim() != 4:
        raise ValueError(f'expected a conv kernel (C_out, C_in, kh, kw), got shape {tuple(weight.shape)}')
    out_channels, in_channels = weight.shape[:2]
    rank_in, rank_out = check_ranks(ranks, in_channels, out_channels, name='tucker2_decompose')
    w = weight.detach().to(torch.float64)
    u_out = _leading_left_singular_vectors(w.flatten(1), rank_out)
    u_in = _leading_left_singular_vectors(w.transpose(0, 1).flatten(1), rank_in)
    core = torch.einsum('oihw,or,is->rshw', w, u_out, u_in)
    return tuple(t.to(weight.dtype).contiguous() for t in (core, u_out, u_in))


def tucker2_reconstruct(core: Tensor, u_out: Tensor, u_in: Tensor) -> Tensor:
    """The kernel ``core x_0 u_out x_1 u_in`` of shape ``(C_out, C_in, kh, kw)``.

    Args:
        core (Tensor): ``(rank_out, rank_in, kh, kw)``.
        u_out (Tensor): ``(C_out, rank_out)``.
        u_in (Tensor): ``(C_in, rank_in)``.

    Returns:
        Tensor: The reconstructed kernel.
    """
    return torch.einsum('rshw,or,is->oihw', core, u_out, u_in)


def relative_error(reference: Tensor, approximation: Tensor) -> float:
    """Relative Frobenius error ``||approximation - reference|| / ||reference||``.

    Args:
        reference (Tensor): The exact tensor.
        approximation (Tensor): A tensor of the same shape.

    Returns:
        float: The relative error (``inf`` if ``reference`` is zero and ``approximation`` is not).
    """
    reference = reference.detach().to(torch.float64)
    diff = torch.linalg.vector_norm(approximation.detach().to(torch.float64) - reference)
    return (diff / torch.linalg.vector_norm(reference)).item()


@dataclass(frozen=True)
class ConvSpec:
    """Shape of one ``nn.Conv2d`` call, enough to count its multiply-accumulates.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        kernel_size (tuple[int, int]): ``(kh, kw)``.
        groups (int): Convolution groups.
        in_size (tuple[int, int]): Input ``(H, W)``.
        out_size (tuple[int, int]): Output ``(H, W)``.
    """
    in_channels: int
    out_channels: int
    kernel_size: Tuple[int, int]
    groups: int
    in_size: Tuple[int, int]
    out_size: Tuple[int, int]

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the dense convolution."""
        kh, kw = self.kernel_size
        return (self.out_channels * (self.in_channels // self.groups) * kh * kw * self.out_size[0] *
                self.out_size[1])

    def tucker2_macs(self, ranks: Sequence[int]) -> int:
        """Multiply-accumulates of its Tucker-2 form (1x1 at the input size, core, 1x1).

        Args:
            ranks (Sequence[int]): ``(rank_in, rank_out)``.

        Returns:
            int: The MACs of the three convolutions.
        """
        rank_in, rank_out = ranks
        kh, kw = self.kernel_size
        in_pixels = self.in_size[0] * self.in_size[1]
        out_pixels = self.out_size[0] * self.out_size[1]
        return (self.in_channels * rank_in * in_pixels + rank_in * rank_out * kh * kw * out_pixels +
                rank_out * self.out_channels * out_pixels)


def conv_specs(module: nn.Module, input_size: Sequence[int], in_channels: int = 3) -> Dict[str, ConvSpec]:
    """Shapes of every ``nn.Conv2d`` inside ``module`` for one ``(1, in_channels, H, W)`` input.

    The forward runs on the ``meta`` device (parameters and buffers are swapped for meta tensors with
    :func:`torch.func.functional_call`), so it costs no arithmetic and ``module`` is left untouched.

    Args:
        module (nn.Module): A module whose ``forward`` takes one image tensor (e.g. a backbone).
        input_size (Sequence[int]): ``(H, W)`` of the input.
        in_channels (int): Input channels. Defaults to 3.

    Returns:
        dict[str, ConvSpec]: Keyed by module path (as in ``named_modules``), in call order; a conv that is
        called several times keeps its first call.
    """
    specs: Dict[str, ConvSpec] = {}

    def record(name: str):

        def hook(conv: nn.Conv2d, args: Tuple[Tensor, ...], output: Tensor) -> None:
            if name not in specs:
                specs[name] = ConvSpec(conv.in_channels, conv.out_channels, tuple(conv.kernel_size),
                                       conv.groups, tuple(args[0].shape[-2:]), tuple(output.shape[-2:]))

        return hook

    handles = [
        m.register_forward_hook(record(name)) for name, m in module.named_modules()
        if isinstance(m, nn.Conv2d)
    ]
    meta_tensors = {
        name: torch.empty_like(t, device='meta')
        for name, t in [*module.named_parameters(), *module.named_buffers()]
    }
    try:
        with torch.no_grad():
            functional_call(module, meta_tensors,
                            (torch.empty(1, in_channels, *input_size, device='meta'), ))
    finally:
        for handle in handles:
            handle.remove()
    return specs


def conv_macs(module: nn.Module, input_size: Sequence[int], in_channels: int = 3) -> int:
    """Total multiply-accumulates of the ``nn.Conv2d`` layers of ``module`` at one input size.

    Args:
        module (nn.Module): See :func:`conv_specs`.
        input_size (Sequence[int]): ``(H, W)`` of the input.
        in_channels (int): Input channels. Defaults to 3.

    Returns:
        int: The sum of :attr:`ConvSpec.macs` (dense and Tucker layers alike, since a Tucker layer is made
        of ``nn.Conv2d`` modules).
    """
    return sum(spec.macs for spec in conv_specs(module, input_size, in_channels).values())


def uniform_ranks(spec: ConvSpec, alpha: float) -> Ranks:
    """Ranks proportional to the channels: ``round(alpha * C)``, clipped to ``[1, C]``.

    Args:
        spec (ConvSpec): The convolution.
        alpha (float): The width scalar in ``[0, 1]``.

    Returns:
        tuple[int, int]: ``(rank_in, rank_out)``.
    """

    def scaled(channels: int) -> int:
        return min(channels, max(1, int(alpha * channels + 0.5)))

    return scaled(spec.in_channels), scaled(spec.out_channels)


def select_tucker_ranks(specs: Mapping[str, ConvSpec],
                        flops_ratio: float,
                        decompose: Optional[Iterable[str]] = None) -> Dict[str, Ranks]:
    """Uniform Tucker-2 ranks whose network FLOPs are closest to ``flops_ratio`` of the original.

    Every convolution in ``decompose`` gets :func:`uniform_ranks` for one shared ``alpha``; the others keep
    their dense FLOPs. ``alpha`` is bisected on the total MACs (a non-decreasing step function of
    ``alpha``), and the closer of the two ranks sets bracketing the target is returned.

    Args:
        specs (Mapping[str, ConvSpec]): Every convolution of the network (e.g. from :func:`conv_specs`).
        flops_ratio (float): Target total MACs as a fraction of the dense network's, in ``(0, 1)``.
        decompose (Iterable[str], optional): Keys of ``specs`` to decompose. Defaults to every
            convolution whose input has more than 3 channels (the first convolution, on the image, is
            left intact as in Kim et al.).

    Returns:
        dict[str, tuple[int, int]]: ``(rank_in, rank_out)`` per decomposed key, in ``specs`` order.

    Raises:
        KeyError: If a key of ``decompose`` is not in ``specs``.
        ValueError: If ``flops_ratio`` is outside ``(0, 1)`` or cannot be reached (below the cost of the
            intact layers plus rank-1 decompositions, or above that of full-rank ones).
    """
    if not 0 < flops_ratio < 1:
        raise ValueError(f'flops_ratio must be in (0, 1), got {flops_ratio}')
    if decompose is None:
        decompose = [name for name, spec in specs.items() if spec.in_channels > 3]
    decompose = list(decompose)
    unknown = [name for name in decompose if name not in specs]
    if unknown:
        raise KeyError(f'cannot decompose {unknown}: not among the convolutions {list(specs)}')
    decomposed = [name for name in specs if name in decompose]
    dense_total = sum(spec.macs for spec in specs.values())
    intact = sum(spec.macs for name, spec in specs.items() if name not in decomposed)
    target = flops_ratio * dense_total

    def ranks_at(alpha: float) -> Dict[str, Ranks]:
        return {name: uniform_ranks(specs[name], alpha) for name in decomposed}

    def macs_at(alpha: float) -> int:
        return intact + sum(specs[name].tucker2_macs(r) for name, r in ranks_at(alpha).items())

    low, high = 0.0, 1.0
    if not macs_at(low) <= target <= macs_at(high):
        raise ValueError(f'flops_ratio={flops_ratio} is out of reach: Tucker-2 ranks of {decomposed} give '
                         f'{macs_at(low) / dense_total:.4f} to {macs_at(high) / dense_total:.4f} '
                         'of the original FLOPs')
    for _ in range(_BISECTION_STEPS):
        middle = (low + high) / 2
        if macs_at(middle) <= target:
            low = middle
        else:
            high = middle
    best = min((low, high), key=lambda alpha: abs(macs_at(alpha) - target))
    return ranks_at(best)
