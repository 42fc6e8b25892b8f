"""Receptive-field geometry of a feature map: where on the input image each of its cells is centred.

Output cell ``m`` (on either axis) of a map with geometry ``(stride, offset)`` is centred at input pixel
coordinate ``offset + stride * m``, pixel centres being at integer coordinates ``0 .. W - 1``. For one
convolution or pooling with kernel ``k``, stride ``s``, padding ``p`` and dilation ``d`` that is
``s * m - p + d * (k - 1) / 2``, and layers compose: ``(S, O)`` followed by ``(s, c)`` gives
``(S * s, O + S * c)``. ``ceil_mode`` only appends a cell at the end of a map; it moves no centre.
For example AlexNet's conv5 (without pool5) is at ``(16, 15)``, VGG16's conv5_3 at ``(16, 7.5)``, VGG-M's
conv5 at ``(16, 17)`` and every stage of MMDetection's ResNet at ``(2 ** k, 0)``.

:func:`feature_geometry` measures the geometry instead of deriving it from a layer list, so that it also
works for residual networks (where the layers in forward order are not a chain) and for module paths
inside a layer (a Tucker-2 core, a norm). It runs a *linearised* float64 copy of the backbone (and neck):
every ``Conv2d`` gets one input and one output channel, an averaging kernel (weights ``1 / (kh * kw)``),
no bias and zero padding, keeping its kernel size, stride, padding and dilation; max poolings become
average poolings with the same window and a fixed divisor (as a zero-padded convolution); norm layers,
LRN, dropout and pointwise activations become identities. The kernels of that copy are symmetric about
the centres above, so the response of a cell to the coordinate ramp ``x``, divided by its response to a
constant image, is exactly the cell's centre ``offset + stride * m``, for every cell whose kernel is not
cut by the image border. Such interior cells are those whose response to the constant image is the
largest; the probe image is doubled (from 128 px up to 4096 px) until that largest response stops growing
(to 1e-10 relative) and at least two interior cells per axis exist. The original model is not modified;
as the copy has one channel per layer, the probe takes about a second even for a ResNet-50.

This is exact for plain and residual convolutional networks (PlainConvNet's AlexNet, VGG16 and VGG-M at
any ``widen_factor``, with or without norm layers or Tucker-2 convolutions; MMDetection's ResNet). It
refuses (``ValueError`` / ``NotImplementedError`` naming the override) maps whose cells do not lie on
one uniform grid, e.g. an FPN level that adds a nearest-upsampled coarser level, and layers it cannot
linearise (deformable convolutions, attention); set the geometry by hand then. Not supported either:
channel concatenations (the copy has one channel) and max pooling applied functionally inside a
``forward`` (``F.max_pool2d``; a functional ReLU is fine, the copy's activations are non-negative).
"""
import copy
from typing import NamedTuple, Optional, Union

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

from .recorders import ModuleOutputRecorder

#: Layers that act on each position separately (or not at all in eval mode): identities for the geometry.
_POINTWISE = (_BatchNorm, _InstanceNorm, nn.GroupNorm, nn.LayerNorm, nn.LocalResponseNorm, nn.CrossMapLRN2d,
              nn.Dropout, nn.Dropout2d, nn.Identity, nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU,
              nn.SELU, nn.CELU, nn.GELU, nn.SiLU, nn.Mish, nn.Sigmoid, nn.Tanh, nn.Hardswish, nn.Hardsigmoid,
              nn.Hardtanh, nn.Softplus)
#: Relative tolerance on the constant-image response that marks a cell as not cut by the border.
_INTERIOR_RTOL = 1e-10
#: Geometries are rounded to this many decimals (float64 sums are exact to about 1e-12 px).
_DECIMALS = 6
_OVERRIDE = 'give the hint pair a student_geometry / teacher_geometry=(stride, offset)'


def _override(owner: str) -> str:
    """How to bypass the probe, for error messages."""
    if owner in ('student', 'teacher'):
        return f'give the hint pair a {owner}_geometry=(stride, offset)'
    return _OVERRIDE


class Geometry(NamedTuple):
    """Cell ``m`` of a map (either axis) is centred at input pixel ``offset + stride * m``."""
    stride: float
    offset: float

    def centre(self, index: Union[float, Tensor]) -> Union[float, Tensor]:
        """Input coordinate of cell ``index`` (a number or a tensor of indices)."""
        return self.offset + self.stride * index

    def index(self, coordinate: Union[float, Tensor]) -> Union[float, Tensor]:
        """Fractional cell index centred at input ``coordinate``: the inverse of :meth:`centre`."""
        return (coordinate - self.offset) / self.stride


def as_geometry(value, name: str = 'geometry') -> Geometry:
    """A :class:`Geometry` from a ``(stride, offset)`` pair (as given in a config), checked.

    Raises:
        ValueError: If ``value`` is not two numbers with ``stride > 0``.
    """
    try:
        stride, offset = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f'{name} must be a pair (stride, offset) of numbers, got {value!r}') from None
    if stride <= 0:
        raise ValueError(f'{name}: stride must be > 0, got {stride}')
    return Geometry(stride, offset)


def rescale_geometry(geometry: Geometry, scale: float) -> Geometry:
    """The geometry in the pixels of an image that the model saw resized by ``scale``.

    A bilinear resize with ``align_corners=False`` by ``scale`` puts resized pixel ``i`` at original
    coordinate ``(i + 0.5) / scale - 0.5`` (PyTorch's ``interpolate(scale_factor=scale)`` exactly; a resize
    to a rounded size, as :func:`~det_kd.models.distillation.rescale_batch`, exactly where
    ``size * scale`` is an integer, e.g. at 0.5 on a batch padded to a multiple of 32).

    Args:
        geometry (Geometry): In the pixels of the resized image the model saw.
        scale (float): Resize factor from the original image to the model's input.

    Returns:
        Geometry: In original pixels; ``geometry`` itself at ``scale == 1``.
    """
    if scale == 1.0:
        return geometry
    return Geometry(geometry.stride / scale, (geometry.offset + 0.5) / scale - 0.5)


def _replacement(module: nn.Module) -> Optional[nn.Module]:
    """The linearised stand-in of one layer, or None to recurse into its children."""
    if isinstance(module, nn.Conv2d):  # kept (a subclass may pad in its forward), with one channel
        height, width = module.kernel_size
        module.weight = nn.Parameter(torch.full((1, 1, height, width), 1.0 / (height * width)))
        module.register_parameter('bias', None)
        module.in_channels = module.out_channels = module.groups = 1
        module.padding_mode = 'zeros'
        return module
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        if getattr(module, 'dilation', 1) not in (1, (1, 1)):
            raise NotImplementedError(f'receptive-field geometry: dilated {type(module).__name__} is not '
                                      f'supported; {_OVERRIDE}')
        kernel = nn.modules.utils._pair(module.kernel_size)
        # A fixed divisor: windows cut by the border (padding, ceil_mode) weigh less, as in a zero-padded
        # convolution.
        return nn.AvgPool2d(module.kernel_size, module.stride, module.padding, ceil_mode=module.ceil_mode,
                            divisor_override=kernel[0] * kernel[1])
    if isinstance(module, _POINTWISE):
        return nn.Identity()
    return None


def _linearise(module: nn.Module) -> None:
    """Replaces, in place, every layer of ``module`` by its stand-in (see the module docstring)."""
    for name, child in list(module.named_children()):
        stand_in = _replacement(child)
        if stand_in is None:
            _linearise(child)
        else:
            setattr(module, name, stand_in)
    if any(True for _ in module.parameters(recurse=False)):
        raise NotImplementedError(f'receptive-field geometry: cannot linearise {type(module).__name__} '
                                  f'(a layer with parameters that is not a Conv2d); {_OVERRIDE}')


class _LinearFeatures(nn.Module):
    """Linearised float64 CPU copy of a detector's features: ``neck(backbone(x))``, as ``extract_feat``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.backbone = copy.deepcopy(model.backbone)
        neck = getattr(model, 'neck', None)
        self.neck = copy.deepcopy(neck) if neck is not None else None
        _linearise(self)
        self.to('cpu', torch.float64).eval()

    def forward(self, image: Tensor):
        feats = self.backbone(image)
        return self.neck(feats) if self.neck is not None else feats


def _interior_centres(response: Tensor, axis: int):
    """Cell indices and measured centres along ``axis`` of the cells not cut by the border.

    ``response`` is ``(3, C, h, w)``: the map's response to a constant image and to the x and y ramps.
    """
    mass = response[0]
    interior = mass >= mass.amax(dim=(-2, -1), keepdim=True) * (1 - _INTERIOR_RTOL)
    centres = (response[2 if axis == -2 else 1] / mass)[interior]
    index = torch.nonzero(interior)[:, axis]
    return index, centres


def _fit_axis(response: Tensor, axis: int, owner: str, layer) -> Optional[Geometry]:
    """``(stride, offset)`` along one axis from the interior cells; None if fewer than two columns."""
    index, centres = _interior_centres(response, axis)
    first, last = int(index.min()), int(index.max())
    if first == last:
        return None
    stride = float(centres[index == last].mean() - centres[index == first].mean()) / (last - first)
    offset = float(centres[index == first].mean()) - stride * first
    residual = float((centres - (offset + stride * index)).abs().max())
    if residual > 10**-_DECIMALS * max(1.0, stride):
        raise ValueError(f'receptive-field geometry of {owner} layer {layer!r}: its cells are not centred on '
                         f'one uniform grid (off by up to {residual:.3g} px, e.g. an FPN level that adds an '
                         f'upsampled coarser map); {_override(owner)}')
    return Geometry(round(stride, _DECIMALS) + 0.0, round(offset, _DECIMALS) + 0.0)  # no -0.0


def feature_geometry(model: nn.Module,
                     layer: Union[int, str],
                     owner: str = 'model',
                     min_size: int = 128,
                     max_size: int = 4096) -> Geometry:
    """Measures the receptive-field geometry of one feature map of a detector (see the module docstring).

    Args:
        model (nn.Module): A detector with a ``backbone`` and optionally a ``neck`` (its ``extract_feat``
            is ``neck(backbone(x))``, as for MMDetection's two-stage detectors). It is not modified.
        layer (int | str): An index into ``extract_feat``'s outputs, or the dotted path of a module inside
            the backbone or neck (e.g. ``'backbone.features.28'``), as in a hint pair.
        owner (str): Name used in error messages (``'student'``, ``'teacher'``). Defaults to 'model'.
        min_size (int): Side of the first square probe image. Defaults to 128.
        max_size (int): Largest probe side tried before giving up. Defaults to 4096.

    Returns:
        Geometry: ``(stride, offset)`` in the model's input pixels, rounded to 1e-6 px.

    Raises:
        KeyError: If ``layer`` is a path that is not inside the backbone or neck.
        ValueError: If the map's cells are not on a uniform grid, the two axes differ, or no probe up to
            ``max_size`` has two cells per axis that the border does not cut.
        NotImplementedError: For layers that cannot be linearised.
    """
    linear = _LinearFeatures(model)
    paths = [layer] if isinstance(layer, str) else []
    previous_mass = None
    size = min_size
    while size <= max_size:
        coords = torch.arange(size, dtype=torch.float64)
        image = torch.stack([torch.ones(size, size, dtype=torch.float64),
                             coords.expand(size, size), coords[:, None].expand(size, size)])[:, None]
        with torch.no_grad(), ModuleOutputRecorder(linear, paths, owner) as recorder:
            feats = linear(image)
        if isinstance(layer, str):
            output = recorder.outputs[layer]
        else:
            feats = (feats, ) if isinstance(feats, Tensor) else tuple(feats)
            if not -len(feats) <= layer < len(feats):
                raise IndexError(f'{owner} hint layer {layer}: extract_feat returns {len(feats)} maps')
            output = feats[layer]
        if not isinstance(output, Tensor) or output.dim() != 4:
            raise TypeError(f'receptive-field geometry: {owner} layer {layer!r} does not output a '
                            'feature map')
        mass = output[0].amax(dim=(-2, -1))
        if previous_mass is not None and torch.allclose(mass, previous_mass, rtol=_INTERIOR_RTOL, atol=0.0):
            rows, cols = _fit_axis(output, -2, owner, layer), _fit_axis(output, -1, owner, layer)
            if rows is not None and cols is not None:
                if rows != cols:
                    raise ValueError(f'receptive-field geometry of {owner} layer {layer!r} differs between '
                                     f"the axes (rows {rows}, columns {cols}); align='centre' needs one "
                                     "geometry for both axes: use align='pad' or 'resample'")
                return cols
        previous_mass = mass
        size *= 2
    raise ValueError(f'receptive-field geometry of {owner} layer {layer!r}: no probe image up to '
                     f'{max_size} px has cells beyond the reach of the border; {_override(owner)}')
