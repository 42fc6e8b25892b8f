#!/usr/bin/env bash
# Issue #31's method screen for real: the demo on BCCD (../shared/data/bccd, 292 -> 72 images at 320x240, 24
# epochs) with one trained VGG16-w0.25 teacher (seed 0) and the methods of the demo pair ranked over 3 paired
# seeds, in the BCCD configs' class order (the teacher's: the demo refuses another). Resumable: run it again
# after a stop (the teacher continues from its last epoch, the demo with --resume).
#
#   bash benchmarks/bccd_method_screen.sh WORK_DIR [BCCD_DIR]          # default BCCD_DIR: ../shared/data/bccd
#
# WORK_DIR gets data/BCCD (a link), teacher/ and screen/ (the demo: results.md ranks the methods). One thread
# (OMP_NUM_THREADS=1): run it beside other one-thread jobs. Log: WORK_DIR/screen.log. METHODS="..." screens
# other methods (names or distillation configs of the pair, e.g. the issue #32 methods:
# METHODS="paper configs/demo/fgd_alexnet-w0.25-vgg16-w0.25_demo.py ...", see configs/bccd/README.md).
set -euo pipefail
REPO=${REPO:-$(cd "$(dirname "$0")/.." && pwd)}
WORK=$(realpath -m "${1:?work directory}"); BCCD=$(realpath "${2:-$REPO/../shared/data/bccd}")
PY="${PYTHON:-$REPO/.venv/bin/python}"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" OMP_NUM_THREADS=1
read -r -a METHODS <<< "${METHODS:-paper pkd pkd-batch cwd at}"
for i in "${!METHODS[@]}"; do  # a config path relative to the repository (the demo runs in WORK_DIR)
    [[ "${METHODS[$i]}" == *.py && "${METHODS[$i]}" != /* ]] && METHODS[$i]="$REPO/${METHODS[$i]}"
done
mkdir -p "$WORK/data" && cd "$WORK" && ln -sfn "$BCCD" data/BCCD
OPTS="train_cfg.max_epochs=24 train_cfg.val_interval=25 train_cfg.val_begin=25 param_scheduler.1.end=24 \
param_scheduler.1.milestones=[16,22] default_hooks.checkpoint.max_keep_ckpts=1 randomness.seed=0"
if [ ! -f teacher.done ]; then
    echo "[bccd_method_screen $(date '+%F %T') load $(cut -d' ' -f1-3 /proc/loadavg)] teacher"
    # shellcheck disable=SC2086
    "$PY" "$REPO/tools/train.py" "$REPO/configs/bccd/faster-rcnn_vgg16-w0.25_bccd.py" --work-dir teacher \
        $( [ -d teacher ] && echo --resume ) --cfg-options $OPTS > teacher.log 2>&1
    touch teacher.done
fi
echo "[bccd_method_screen $(date '+%F %T') load $(cut -d' ' -f1-3 /proc/loadavg)] demo --methods ${METHODS[*]}"
"$PY" "$REPO/tools/demo.py" --voc-root data/BCCD --classes RBC WBC Platelets --work-dir screen --seeds 0 1 2 --teacher-checkpoint \
    teacher/epoch_24.pth --methods "${METHODS[@]}" --no-progress $( [ -d screen ] && echo --resume ) > screen.log 2>&1
echo "[bccd_method_screen $(date '+%F %T') load $(cut -d' ' -f1-3 /proc/loadavg)] done: $WORK/screen/results.md"
