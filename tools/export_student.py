"""Exports the student of a distillation checkpoint for deployment with the plain student config.

    python tools/export_student.py work_dirs/kd_run/epoch_12.pth --out student.pth
    python tools/test.py configs/faster_rcnn/<student config>.py student.pth

An existing --out is kept unless --force is given (and the input checkpoint itself is never replaced); a
checkpoint that was not saved by a distillation run is refused unless --allow-plain is given.
"""
import argparse
import sys

from det_kd.engine import export_student


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('checkpoint', help='checkpoint saved by a KDFasterRCNN training run')
    parser.add_argument('--out', required=True, help='path of the student checkpoint to write')
    parser.add_argument('--force', action='store_true', help='replace --out if it exists')
    parser.add_argument('--allow-plain', action='store_true',
                        help='accept a checkpoint that is not a distillation run\'s (strips nothing from it)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    try:
        exported = export_student(args.checkpoint, args.out, force=args.force, allow_plain=args.allow_plain)
    except (FileExistsError, FileNotFoundError, ValueError) as error:
        sys.exit(f'tools/export_student.py: {error}')
    print(f'wrote {args.out}: {len(exported["state_dict"])} student tensors from {args.checkpoint}')


if __name__ == '__main__':
    main()
