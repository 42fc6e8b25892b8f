"""Shared machinery of the paper-era plain (non-residual) backbones: VGG16, VGG-M and AlexNet."""
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

from mmcv.cnn import build_norm_layer
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmengine.runner.checkpoint import CheckpointLoader
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from det_kd.compression.tucker import check_ranks
from det_kd.models.layers import TuckerConv2d, decompose_dense_convs


class Conv(NamedTuple):
    """A convolution followed by ReLU (two entries of ``features``); ``channels`` at width 1.0."""
    name: str
    channels: int
    kernel_size: int
    stride: int = 1
    padding: int = 0


class MaxPool(NamedTuple):
    """A max pooling layer (one entry of ``features``); ``ceil_mode=True`` sizes outputs as Caffe does."""
    kernel_size: int
    stride: int
    ceil_mode: bool = False


class LRN(NamedTuple):
    """A local response normalisation layer (one entry of ``features``), Caffe's parametrisation."""
    size: int
    alpha: float
    beta: float
    k: float


Layer = Union[Conv, MaxPool, LRN]
Stage = Tuple[Layer, ...]


class PlainConvNet(BaseModule):
    """A stack of convolutions, ReLUs, LRNs and max poolings in one ``nn.Sequential`` named ``features``.

    Subclasses only set :attr:`arch`: a tuple of stages, each a tuple of :class:`Conv`, :class:`MaxPool`
    and :class:`LRN` in forward order. ``features`` lists the layers in that order (every :class:`Conv`
    gives a conv at index ``i`` and its ReLU at ``i + 1``), which reproduces torchvision's ``features``
    numbering for VGG16 and AlexNet, so their ImageNet weights load by name. The ReLUs are not in-place,
    so a forward hook on a conv (e.g. ``backbone.features.28``) sees its pre-activation output.

    The output of stage ``s`` is the activation after its last layer; a stage's max pooling is the first
    layer of the next stage (so outputs are taken before pooling).

    Args:
        widen_factor (float): Multiplier of every conv's channels (rounded, at least 1), e.g. 0.25 for CPU
            demos. Defaults to 1.0.
        frozen_stages (int): Stages ``0 .. frozen_stages - 1`` are put in eval mode and their parameters
            get ``requires_grad=False``, also after ``train()``; -1 or 0 freeze nothing. Defaults to -1.
        out_indices (Sequence[int], optional): Stages whose outputs are returned, in stage order.
            Defaults to the last stage (the stride-16 map).
        norm_cfg (dict, optional): Norm layer (e.g. ``dict(type='BN')``) after every conv, kept in
            ``norms[conv_name]`` so that ``features`` keeps torchvision's names. Defaults to None (none).
        norm_eval (bool): Keep the norm layers in eval mode during training. Defaults to False.
        tucker_ranks (dict[str, Sequence[int]], optional): ``{conv_name: (rank_in, rank_out)}``; these
            convs are built as :class:`~det_kd.models.layers.TuckerConv2d` (at the same ``features``
            index). Defaults to None (all dense).
        init_cfg (dict | list[dict], optional): Initialisation. ``dict(type='Pretrained', checkpoint=...,
            prefix=None)`` loads the ``features.*`` (and ``norms.*``) tensors of a checkpoint and ignores
            the rest (e.g. torchvision's ``classifier.*``); every ``features`` tensor must be present with
            the right shape, and dense kernels are Tucker-2 decomposed into the ``tucker_ranks`` layers.
            Defaults to None: Kaiming-normal (fan-out) convs and unit norm layers.

    Attributes:
        features (nn.Sequential): The layers, in torchvision's numbering.
        norms (nn.ModuleDict | None): The norm layer of every conv, keyed by conv name.
        conv_paths (dict[str, str]): Conv name -> module path, e.g. ``{'conv5_3': 'features.28'}``.
        stage_channels (tuple[int]): Output channels of every stage.
    """

    arch: Tuple[Stage, ...] = ()

    def __init__(self,
                 widen_factor: float = 1.0,
                 frozen_stages: int = -1,
                 out_indices: Optional[Sequence[int]] = None,
                 norm_cfg: Optional[dict] = None,
                 norm_eval: bool = False,
                 tucker_ranks: Optional[Dict[str, Sequence[int]]] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        if init_cfg is None:
            init_cfg = [
                dict(type='Kaiming', layer='Conv2d'),
                dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
            ]
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        num_stages = len(self.arch)
        if widen_factor <= 0:
            raise ValueError(f'{name}: widen_factor must be positive, got {widen_factor}')
        if out_indices is None:
            out_indices = (num_stages - 1, )
        out_indices = tuple(out_indices)
        bad = [i for i in out_indices if i not in range(num_stages)]
        if bad or not out_indices:
            raise ValueError(f'{name}: out_indices={out_indices} must be non-empty stage indices in '
                             f'range({num_stages}); bad: {bad}')
        if frozen_stages not in range(-1, num_stages + 1):
            raise ValueError(f'{name}: frozen_stages={frozen_stages} must be in range(-1, {num_stages + 1})')
        self.widen_factor = widen_factor
        self.frozen_stages = frozen_stages
        self.out_indices = out_indices
        self.norm_eval = norm_eval
        self.tucker_ranks = dict(tucker_ranks or {})
        conv_names = [layer.name for stage in self.arch for layer in stage if isinstance(layer, Conv)]
        unknown = sorted(set(self.tucker_ranks) - set(conv_names))
        if unknown:
            raise KeyError(f'{name}: tucker_ranks names unknown layers {unknown}; its convs are {conv_names}')

        layers: List[nn.Module] = []
        norms: Dict[str, nn.Module] = {}
        self.conv_paths: Dict[str, str] = {}
        self.stage_channels: Tuple[int, ...] = ()
        self._stage_ends: List[int] = []
        self._conv_at: Dict[int, str] = {}
        in_channels = 3
        for stage in self.arch:
            for layer in stage:
                if isinstance(layer, Conv):
                    out_channels = max(1, int(layer.channels * widen_factor + 0.5))
                    self._conv_at[len(layers)] = layer.name
                    self.conv_paths[layer.name] = f'features.{len(layers)}'
                    layers.append(self._make_conv(layer, in_channels, out_channels))
                    layers.append(nn.ReLU())
                    if norm_cfg is not None:
                        norms[layer.name] = build_norm_layer(norm_cfg, out_channels)[1]
                    in_channels = out_channels
                elif isinstance(layer, MaxPool):
                    layers.append(nn.MaxPool2d(layer.kernel_size, layer.stride, ceil_mode=layer.ceil_mode))
                else:
                    layers.append(nn.LocalResponseNorm(layer.size, layer.alpha, layer.beta, layer.k))
            self._stage_ends.append(len(layers))
            self.stage_channels += (in_channels, )
        self.features = nn.Sequential(*layers)
        self.norms = nn.ModuleDict(norms) if norm_cfg is not None else None
        self._freeze_stages()

    def _make_conv(self, layer: Conv, in_channels: int, out_channels: int) -> nn.Module:
        """A dense conv, or a Tucker-2 one if ``layer.name`` is in ``tucker_ranks``."""
        if layer.name in self.tucker_ranks:
            ranks = check_ranks(self.tucker_ranks[layer.name], in_channels, out_channels,
                                f'{type(self).__name__}.tucker_ranks[{layer.name!r}]')
            return TuckerConv2d(
                in_channels,
                out_channels,
                layer.kernel_size,
                ranks=ranks,
                stride=layer.stride,
                padding=layer.padding)
        return nn.Conv2d(in_channels, out_channels, layer.kernel_size, layer.stride, layer.padding)

    def _stage_layers(self, stage: int) -> range:
        """Indices in ``features`` of the layers of one stage."""
        start = self._stage_ends[stage - 1] if stage > 0 else 0
        return range(start, self._stage_ends[stage])

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Runs the stages up to the last one in ``out_indices``.

        Args:
            x (Tensor): Images ``(N, 3, H, W)``.

        Returns:
            tuple[Tensor]: The outputs of the ``out_indices`` stages, in stage order.
        """
        outs = []
        for stage in range(max(self.out_indices) + 1):
            for index in self._stage_layers(stage):
                x = self.features[index](x)
                if self.norms is not None and index in self._conv_at:
                    x = self.norms[self._conv_at[index]](x)
            if stage in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def _freeze_stages(self) -> None:
        """Puts the first ``frozen_stages`` stages in eval mode without gradients."""
        for stage in range(max(self.frozen_stages, 0)):
            for index in self._stage_layers(stage):
                modules = [self.features[index]]
                if self.norms is not None and index in self._conv_at:
                    modules.append(self.norms[self._conv_at[index]])
                for module in modules:
                    module.eval()
                    for param in module.parameters():
                        param.requires_grad = False

    def train(self, mode: bool = True) -> 'PlainConvNet':
        """Sets the mode, keeping frozen stages (and, with ``norm_eval``, all norms) in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, (_BatchNorm, nn.GroupNorm)):
                    module.eval()
        return self

    def init_weights(self) -> None:
        """Loads a ``Pretrained`` ``init_cfg`` (see the class docstring), or applies the other inits."""
        if isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained':
            self.load_features(self.init_cfg['checkpoint'], self.init_cfg.get('prefix'),
                               self.init_cfg.get('map_location', 'cpu'))
            self._is_init = True
        else:
            super().init_weights()

    def load_features(self, checkpoint: str, prefix: Optional[str] = None, map_location: str = 'cpu') -> None:
        """Loads the ``features.*`` and ``norms.*`` tensors of a checkpoint.

        Args:
            checkpoint (str): Anything mmengine's ``CheckpointLoader`` reads: a file,
                ``torchvision://vgg16``, ``open-mmlab://...``, a URL.
            prefix (str, optional): Only keys starting with it are used, with it stripped (e.g.
                ``'backbone.'`` for a detector checkpoint). Defaults to None.
            map_location (str): Device to load onto. Defaults to ``'cpu'``.

        Raises:
            KeyError: If a ``features`` tensor of this backbone is missing from the checkpoint, or the
                checkpoint has ``features``/``norms`` tensors this backbone lacks (another architecture).
            ValueError: If a tensor has the wrong shape (e.g. another ``widen_factor``).
        """
        loaded = CheckpointLoader.load_checkpoint(checkpoint, map_location=map_location)
        state_dict = loaded.get('state_dict', loaded)
        if prefix:
            state_dict = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
        ours = {k: v for k, v in state_dict.items() if k.startswith(('features.', 'norms.'))}
        num_ignored = len(state_dict) - len(ours)
        ours = decompose_dense_convs(ours, self)
        own = self.state_dict()
        missing = sorted(k for k in own if k.startswith('features.') and k not in ours)
        unexpected = sorted(k for k in ours if k not in own)
        name = type(self).__name__
        if missing or unexpected:
            raise KeyError(f'{name}: {checkpoint} does not match: missing {missing}, unexpected {unexpected}')
        for key, value in ours.items():
            if value.shape != own[key].shape:
                raise ValueError(f'{name}: {checkpoint} has {key} of shape {tuple(value.shape)}, this '
                                 f'backbone (widen_factor={self.widen_factor}) needs {tuple(own[key].shape)}')
        self.load_state_dict(ours, strict=False)
        print_log(
            f'{name}: loaded {len(ours)} tensors from {checkpoint}; ignored {num_ignored} '
            f'other keys; kept the initial values of {sorted(set(own) - set(ours))}',
            logger='current')
