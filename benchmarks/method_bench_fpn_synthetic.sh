#!/usr/bin/env bash
# Issue #32's bench on the FPN pair (R50-w0.25 + FPN teacher -> R18-w0.25 + FPN student, synthetic, 200 training
# / 500 validation images, one teacher, paired seeds): the baseline and every method column, two one-thread
# runs at a time, resumable (run it again after a stop: finished runs are read back, stopped ones continue from
# their last epoch checkpoint).
#
#   bash benchmarks/method_bench_fpn_synthetic.sh WORK_DIR [SEEDS...]     # default seeds: 0 1 2
#
# WORK_DIR gets data/ (tools/make_synthetic_data.py), teacher/ (24 epochs, as benchmarks/results/
# ablation_fpn_synthetic.md), ablation/<column>/seed<N>/ and the tables ablation/ablation.{md,json}. The
# columns run seed by seed (every method's seed 0 first) in two lanes; the last call pairs every column with
# the baseline of its seed (tools/ablation.py's table and bootstrap). EXTRA_COLUMNS="..." adds columns (named
# columns or config files) after the methods. Logs: WORK_DIR/lane1.log, lane2.log, table.log.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(realpath -m "${1:?work directory}"); shift
SEEDS=("${@:-0 1 2}")
read -r -a SEEDS <<< "${SEEDS[*]}"
PY="${PYTHON:-$REPO/.venv/bin/python}"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}" OMP_NUM_THREADS=1
KD=configs/kd/kd_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py
METHODS=(PKD-batch)
for method in fgd mgd fbkd dist defeat; do METHODS+=("configs/kd/${method}_r18-w0.25-r50-w0.25_fpn_12e_synthetic-coco.py"); done
COLUMNS=(Baseline "${METHODS[@]}" ${EXTRA_COLUMNS:-})

mkdir -p "$WORK" && cd "$WORK"
ln -sfn "$REPO/configs" configs
log() { echo "[method_bench $(date '+%F %T') load $(cut -d' ' -f1-3 /proc/loadavg)] $*"; }
[ -f data/synthetic/coco/annotations/instances_val.json ] || \
    "$PY" "$REPO/tools/make_synthetic_data.py" --out data/synthetic --num-train 200 --num-val 500 \
        --img-size 320 240 --seed 0 --formats coco
ablation() {  # ablation SEED... -- COLUMN...
    local seeds=() ; while [ "$1" != -- ]; do seeds+=("$1"); shift; done; shift
    "$PY" "$REPO/tools/ablation.py" "$KD" --teacher-checkpoint teacher/epoch_24.pth --epochs 12 \
        --seeds "${seeds[@]}" --jobs 1 --columns "$@" --work-dir ablation --resume --no-progress
}

# lane 1: the teacher, then the method runs at even positions (seed by seed); lane 2: the baselines while the
# teacher trains, else after its method runs (odd positions)
methods() {  # methods PARITY: every other (seed, column) run
    local index=0
    for seed in "${SEEDS[@]}"; do for column in "${METHODS[@]}" ${EXTRA_COLUMNS:-}; do
        if (( index++ % 2 == $1 )); then log "$column seed $seed"; ablation "$seed" -- "$column"; fi
    done; done
}
lane1() {
    if [ ! -f teacher/epoch_24.pth ]; then
        log "teacher (24 epochs)"
        "$PY" "$REPO/tools/train.py" configs/faster_rcnn/faster-rcnn_r50-w0.25_fpn_12e_synthetic-coco.py \
            --work-dir teacher $( [ -d teacher ] && echo --resume ) --cfg-options train_cfg.max_epochs=24 \
            train_cfg.val_interval=24 param_scheduler.1.end=24 "param_scheduler.1.milestones=[16, 22]" \
            default_hooks.checkpoint.max_keep_ckpts=1 randomness.seed=0
    fi
    touch teacher.done  # the checkpoint is complete (lane 2 waits for this, not for the file being written)
    methods 0
}
lane2() {
    if [ ! -f teacher/epoch_24.pth ]; then
        log "baselines ${SEEDS[*]}"; ablation "${SEEDS[@]}" -- Baseline
        while [ ! -f teacher.done ]; do sleep 60; done
        methods 1
    else
        methods 1
        log "baselines ${SEEDS[*]}"; ablation "${SEEDS[@]}" -- Baseline
    fi
}
lane1 > lane1.log 2>&1 &
lane2 > lane2.log 2>&1 &
wait
log "every run done: the paired table"
ablation "${SEEDS[@]}" -- "${COLUMNS[@]}" > table.log 2>&1
log "wrote $WORK/ablation/ablation.md"
