#!/usr/bin/env bash
# Sets everything up (tools/setup_env.sh), then runs the demo on a dataset it generates:
# a short real training of the tiny Faster R-CNN on synthetic shapes and its COCO evaluation.
#   bash tools/run_demo.sh [WORK_DIR]       (default work_dirs/demo)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/tools/setup_env.sh"
PY="${DET_KD_VENV:-$ROOT/.venv}/bin/python"
WORK_DIR="${1:-work_dirs/demo}"
CONFIG="$ROOT/configs/faster_rcnn/faster-rcnn_tiny-r18_12e_synthetic-coco.py"
mkdir -p "$WORK_DIR"
cd "$WORK_DIR"
"$PY" "$ROOT/tools/make_synthetic_data.py" --out data/synthetic --num-train 200 --num-val 50 --formats coco
"$PY" "$ROOT/tools/train.py" "$CONFIG" --work-dir tiny-r18 \
    --cfg-options train_cfg.max_epochs=4 train_cfg.val_interval=4 "param_scheduler.1.milestones=[3]"
"$PY" "$ROOT/tools/test.py" "$CONFIG" tiny-r18/epoch_4.pth --work-dir tiny-r18
