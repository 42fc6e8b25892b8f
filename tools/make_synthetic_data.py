"""Generates the synthetic shapes dataset in COCO, PASCAL VOC and/or KITTI layout.

Example::

    python tools/make_synthetic_data.py --out data/synthetic --num-train 160 --num-val 40 \
        --img-size 320 240 --seed 0 --formats coco voc kitti
"""
import argparse
import os.path as osp
import sys
import time

try:
    from det_kd.synthetic import FORMATS, VOC_BOX_CONVENTIONS, generate_dataset
    from det_kd.synthetic.config import SceneConfig
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
    from det_kd.synthetic import FORMATS, VOC_BOX_CONVENTIONS, generate_dataset
    from det_kd.synthetic.config import SceneConfig


def parse_args(argv=None) -> argparse.Namespace:
    """Parses the command line.

    Args:
        argv (list[str], optional): Arguments without the program name. Defaults to None
            (``sys.argv[1:]``).

    Returns:
        argparse.Namespace: The parsed options.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='data/synthetic', help='dataset root folder')
    parser.add_argument('--num-train', type=int, default=160, help='number of training images')
    parser.add_argument('--num-val', type=int, default=40, help='number of validation images')
    parser.add_argument('--img-size', type=int, nargs=2, default=(320, 240),
                        metavar=('W', 'H'), help='image width and height')
    parser.add_argument('--seed', type=int, default=0, help='dataset seed')
    parser.add_argument('--formats', nargs='+', choices=FORMATS, default=list(FORMATS),
                        help='formats to write')
    parser.add_argument('--voc-box-convention', choices=VOC_BOX_CONVENTIONS, default='mmdet',
                        help="'mmdet': MMDetection 3.3 parses the exact boxes (default); "
                        "'voc': strict 1-based inclusive PASCAL VOC boxes")
    parser.add_argument('--min-object-size', type=float, default=SceneConfig.min_object_size, metavar='PX',
                        help='smallest major axis of an object in pixels (default %(default)s)')
    parser.add_argument('--max-object-frac', type=float, default=SceneConfig.max_object_size_frac, metavar='F',
                        help='largest major axis as a fraction of the shorter image side (default %(default)s); '
                        'e.g. --min-object-size 4 --max-object-frac 0.06 --difficult-min-height 4 for small objects')
    parser.add_argument('--difficult-min-height', type=int, default=SceneConfig.difficult_min_height, metavar='PX',
                        help='objects whose box is lower than this are marked difficult (default %(default)s)')
    parser.add_argument('--no-progress', action='store_true', help='hide the progress bar')
    args = parser.parse_args(argv)
    if not 0 < args.min_object_size <= args.max_object_frac * min(args.img_size):
        parser.error(f'--min-object-size {args.min_object_size} must be positive and at most --max-object-frac x the '
                     f'shorter side ({args.max_object_frac * min(args.img_size):g} px)')
    return args


def format_summary(summary: dict, seconds: float) -> str:
    """Formats the summary returned by ``generate_dataset`` for printing.

    Args:
        summary (dict): The summary.
        seconds (float): Generation time.

    Returns:
        str: A few lines: counts per split, objects per class and the output of every format.
    """
    width, height = summary['img_size']
    lines = [f"Synthetic dataset (seed {summary['seed']}, {width}x{height}) in {seconds:.1f} s"]
    for split, counts in summary['splits'].items():
        per_class = ', '.join(f'{name} {n}' for name, n in counts['per_class'].items())
        lines.append(f"  {split}: {counts['images']} images, {counts['objects']} objects "
                     f"({per_class}); {counts['difficult']} difficult, "
                     f"{counts['truncated']} truncated, occlusion levels "
                     f"{counts['occlusion_levels']}, {counts['ignore_regions']} don't-care regions")
    for name, outputs in summary['formats'].items():
        lines.append(f'  {name}:')
        lines.extend(f'    {key}: {path}' for key, path in outputs.items())
    return '\n'.join(lines)


def main(argv=None) -> None:
    """Runs the generator and prints the summary.

    Args:
        argv (list[str], optional): Arguments without the program name. Defaults to None.
    """
    args = parse_args(argv)
    start = time.perf_counter()
    summary = generate_dataset(
        args.out,
        num_train=args.num_train,
        num_val=args.num_val,
        img_size=tuple(args.img_size),
        seed=args.seed,
        formats=args.formats,
        voc_box_convention=args.voc_box_convention,
        config=SceneConfig(min_object_size=args.min_object_size, max_object_size_frac=args.max_object_frac,
                           difficult_min_height=args.difficult_min_height),
        progress=not args.no_progress)
    print(format_summary(summary, time.perf_counter() - start))


if __name__ == '__main__':
    main()
