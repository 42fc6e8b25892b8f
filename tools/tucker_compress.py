"""Compresses a detector's backbone by Tucker-2 decomposition to a fraction of its FLOPs.

    python tools/tucker_compress.py CONFIG CHECKPOINT --flops-ratio 0.375 --out DIR [--input-size H W]

The backbone (a det_kd ``PlainConvNet``: VGG16, VGGM or AlexNet) must be dense. Every conv except the
first (which sees the 3 image channels) is decomposed by HOSVD with uniform ranks chosen so that the
backbone's conv multiply-adds at ``H x W`` (default 600 x 1000, the paper's scale) are ``--flops-ratio`` of
the original (:func:`det_kd.compression.select_tucker_ranks`). Writes

- ``DIR/<config name>_tucker<ratio>.py``: a config that ``_base_``-inherits CONFIG (relative path), sets
  ``model.backbone.tucker_ranks`` literally, drops the backbone's ``init_cfg`` and points ``load_from`` at
  the checkpoint below, so ``tools/train.py`` on it fine-tunes the compressed detector;
- ``DIR/<config name>_tucker<ratio>.pth``: ``{'state_dict': ..., 'meta': {...}}`` for the whole detector,
  which mmengine's ``load_checkpoint`` loads strictly into a model built from that config;

and prints the ranks and a table of parameters, backbone FLOPs (one multiply-add = one FLOP) and the
relative error of the backbone's last feature map on a fixed random input, before and after.
"""
import argparse
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.runner import load_checkpoint
from torch import nn

import det_kd
from det_kd.compression import conv_macs, conv_specs, relative_error, select_tucker_ranks
from det_kd.models.backbones import PlainConvNet
from det_kd.models.layers import decompose_dense_convs

DEFAULT_INPUT_SIZE = (600, 1000)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Command-line arguments (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config of the dense detector')
    parser.add_argument('checkpoint', help='checkpoint of the dense detector')
    parser.add_argument('--flops-ratio', type=float, default=0.375,
                        help='backbone FLOPs after / before (default: 0.375, the paper\'s Tucker model)')
    parser.add_argument('--out', required=True, help='folder for the compressed config and checkpoint')
    parser.add_argument('--input-size', type=int, nargs=2, default=DEFAULT_INPUT_SIZE, metavar=('H', 'W'),
                        help='input size at which FLOPs are counted and the output error is measured '
                        '(default: 600 1000)')
    return parser.parse_args(argv)


def num_params(module: nn.Module) -> int:
    """Number of parameters of ``module``."""
    return sum(p.numel() for p in module.parameters())


def dense_backbone(model: nn.Module, config: str) -> PlainConvNet:
    """The detector's backbone, checked to be a dense :class:`PlainConvNet`."""
    backbone = model.backbone
    if not isinstance(backbone, PlainConvNet):
        raise TypeError(f'{config}: backbone {type(backbone).__name__} has no tucker_ranks; tucker_compress '
                        'supports det_kd.models.backbones.PlainConvNet (VGG16, VGGM, AlexNet)')
    if backbone.tucker_ranks:
        raise ValueError(f'{config}: backbone is already Tucker-2 decomposed ({backbone.tucker_ranks})')
    return backbone


def format_ratio(flops_ratio: float) -> str:
    """``0.375 -> '0.375'``: the ratio as written in the output file names."""
    return f'{flops_ratio:g}'


def compressed_config_text(config: str, out_dir: str, tucker_ranks: Dict[str, Tuple[int, int]],
                           checkpoint: str, flops_ratio: float, achieved: float,
                           input_size: Sequence[int]) -> str:
    """The text of the compressed config (see the module docstring)."""
    ranks = ',\n'.join(f'            {name}=({r_in}, {r_out})'
                       for name, (r_in, r_out) in tucker_ranks.items())
    config, out_dir = osp.abspath(config), osp.abspath(out_dir)
    base = osp.relpath(config, out_dir) if osp.commonpath([config, out_dir]) != osp.sep else config
    return (f'# Written by tools/tucker_compress.py: {osp.basename(config)}\n'
            f'# with its backbone Tucker-2 decomposed to {achieved:.2%} of its FLOPs at '
            f'{input_size[0]}x{input_size[1]}\n# (requested {flops_ratio:g}; uniform ranks from '
            'det_kd.compression.select_tucker_ranks). The weights are\n# the HOSVD of the dense '
            'checkpoint: fine-tune with tools/train.py on this config.\n'
            f"_base_ = '{base}'\n\n"
            'model = dict(\n'
            '    backbone=dict(\n'
            '        tucker_ranks=dict(\n'
            f'{ranks}),\n'
            '        init_cfg=None))\n\n'
            f"load_from = '{osp.abspath(checkpoint)}'\n")


def backbone_output_error(dense: nn.Module, compressed: nn.Module, input_size: Sequence[int]) -> float:
    """Relative error of the last backbone output on a fixed (seed 0) standard-normal image."""
    image = torch.randn(1, 3, *input_size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return relative_error(dense.eval()(image)[-1], compressed.eval()(image)[-1])


def compress(config: str,
             checkpoint: str,
             flops_ratio: float,
             out_dir: str,
             input_size: Sequence[int] = DEFAULT_INPUT_SIZE) -> dict:
    """Decomposes the backbone of a trained detector and writes the compressed config and checkpoint.

    Args:
        config (str): Config of the dense detector.
        checkpoint (str): Its checkpoint (loaded strictly).
        flops_ratio (float): Target backbone FLOPs as a fraction of the dense backbone's, in (0, 1).
        out_dir (str): Output folder (created if needed).
        input_size (Sequence[int]): ``(H, W)`` for FLOPs and the output error. Defaults to (600, 1000).

    Returns:
        dict: ``config`` and ``checkpoint`` (the written paths), ``tucker_ranks``, ``layers`` (per-layer
        rows), ``flops`` / ``params`` / ``backbone_params`` (dense and compressed), ``flops_ratio`` (the
        achieved backbone ratio) and ``output_error``.
    """
    register_all_modules()
    dense_cfg = Config.fromfile(config)
    dense = MODELS.build(dense_cfg.model)
    load_checkpoint(dense, checkpoint, map_location='cpu', strict=True, logger='silent')
    backbone = dense_backbone(dense, config)
    path_to_name = {path: name for name, path in backbone.conv_paths.items()}
    specs = conv_specs(backbone, input_size)
    ranks_by_path = select_tucker_ranks(specs, flops_ratio)
    tucker_ranks = {path_to_name[path]: ranks for path, ranks in ranks_by_path.items()}

    os.makedirs(out_dir, exist_ok=True)
    stem = f'{osp.splitext(osp.basename(config))[0]}_tucker{format_ratio(flops_ratio)}'
    out_config = osp.join(out_dir, f'{stem}.py')
    out_checkpoint = osp.join(out_dir, f'{stem}.pth')

    dense_flops = sum(spec.macs for spec in specs.values())
    planned = dense_flops - sum(specs[p].macs - specs[p].tucker2_macs(r) for p, r in ranks_by_path.items())
    with open(out_config, 'w') as f:
        f.write(compressed_config_text(config, out_dir, tucker_ranks, out_checkpoint, flops_ratio,
                                       planned / dense_flops, input_size))
    compressed = MODELS.build(Config.fromfile(out_config).model)
    compressed.load_state_dict(decompose_dense_convs(dense.state_dict(), compressed), strict=True)

    layers = []
    for path, ranks in ranks_by_path.items():
        dense_conv = backbone.get_submodule(path)
        tucker_conv = compressed.backbone.get_submodule(path)
        layers.append(
            dict(
                name=path_to_name[path],
                path=path,
                ranks=ranks,
                params=(num_params(dense_conv), num_params(tucker_conv)),
                flops=(specs[path].macs, specs[path].tucker2_macs(ranks)),
                kernel_error=relative_error(dense_conv.weight, tucker_conv.dense_weight())))
    flops = (dense_flops, conv_macs(compressed.backbone, input_size))
    summary = dict(
        config=out_config,
        checkpoint=out_checkpoint,
        tucker_ranks=tucker_ranks,
        layers=layers,
        flops=flops,
        flops_ratio=flops[1] / flops[0],
        params=(num_params(dense), num_params(compressed)),
        backbone_params=(num_params(backbone), num_params(compressed.backbone)),
        output_error=backbone_output_error(backbone, compressed.backbone, input_size))
    meta = dict(
        det_kd_version=det_kd.__version__,
        source_config=osp.abspath(config),
        source_checkpoint=osp.abspath(checkpoint),
        flops_ratio_requested=flops_ratio,
        flops_ratio=summary['flops_ratio'],
        input_size=list(input_size),
        tucker_ranks={name: list(ranks) for name, ranks in tucker_ranks.items()},
        output_error=summary['output_error'])
    torch.save(dict(state_dict=compressed.state_dict(), meta=meta), out_checkpoint)
    return summary


def print_summary(summary: dict, input_size: Sequence[int]) -> None:
    """Prints the per-layer ranks and the before/after table of :func:`compress`."""
    print(f'{"layer":8} {"path":12} {"ranks (in, out)":>16} {"params":>21} {"MFLOPs":>21} {"kernel err":>10}')
    for row in summary['layers']:
        print(f'{row["name"]:8} {row["path"]:12} {str(row["ranks"]):>16} '
              f'{row["params"][0]:>10,d} {row["params"][1]:>10,d} '
              f'{row["flops"][0] / 1e6:>10.1f} {row["flops"][1] / 1e6:>10.1f} {row["kernel_error"]:>10.4f}')
    print()
    print(f'FLOPs: multiply-adds of the backbone convs at {input_size[0]}x{input_size[1]}; output error: '
          '||f_tucker(x) - f(x)|| / ||f(x)|| of the last backbone map on a seed-0 random image.')
    print(f'{"model":10} {"detector params":>16} {"backbone params":>16} {"backbone GFLOPs":>16} '
          f'{"% of dense":>10} {"output error":>12}')
    for i, name in enumerate(('dense', 'tucker')):
        print(f'{name:10} {summary["params"][i]:>16,d} {summary["backbone_params"][i]:>16,d} '
              f'{summary["flops"][i] / 1e9:>16.3f} {summary["flops"][i] / summary["flops"][0]:>10.2%} '
              f'{(summary["output_error"] if i else 0.0):>12.4f}')
    print(f'\nconfig:     {summary["config"]}\ncheckpoint: {summary["checkpoint"]}')


def main(argv: Optional[List[str]] = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    summary = compress(args.config, args.checkpoint, args.flops_ratio, args.out, args.input_size)
    print_summary(summary, args.input_size)


if __name__ == '__main__':
    main()
