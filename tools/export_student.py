"""Exports the student of a distillation checkpoint for deployment with the plain student config.

    python tools/export_student.py work_dirs/kd_run/epoch_12.pth --out student.pth
    python tools/test.py configs/faster_rcnn/<student config>.py student.pth
"""
import argparse

from det_kd.engine import export_student


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('checkpoint', help='checkpoint saved by a KDFasterRCNN training run')
    parser.add_argument('--out', required=True, help='path of the student checkpoint to write')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    exported = export_student(args.checkpoint, args.out)
    print(f'wrote {args.out}: {len(exported["state_dict"])} student tensors from {args.checkpoint}')


if __name__ == '__main__':
    main()
