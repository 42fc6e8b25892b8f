#!/usr/bin/env bash
# The GPU checks of one short session on a CUDA machine, in one prepared run (what the CPU cannot show):
#   1. mmcv 2.1.0 built from its sdist with CUDA ops for this GPU (pip cannot reach PyPI there);
#   2. latency of the paper's models at 600x1000, batch 1, with mmcv's CUDA RoIPool, FP32 and FP16 autocast,
#      beside the paper's 283 ms (VGG16) -> 47 ms (Tucker) (tools/benchmark.py);
#   3. training cost of the paper pair VGG16 -> AlexNet, FP32 and AMP (tools/benchmark_training.py);
#   4. tests/test_tools/test_cuda.py: the paper pair with CUDA RoIPool under fp16 autocast against fp32,
#      and a distillation training through tools/train.py --amp with RoIPool.
#
#   bash benchmarks/gpu_session.sh WHEEL_DIR RESULTS_DIR
#
# WHEEL_DIR holds mmcv-2.1.0.tar.gz and py3 wheels of mmengine 0.10.7, mmdet 3.3.0 and their small
# dependencies (addict, yapf, platformdirs, termcolor, terminaltables, shapely, pycocotools, setuptools<81
# for mmcv's setup.py); the machine's python3 provides torch, torchvision, numpy, scipy, opencv, matplotlib.
# Every step writes into RESULTS_DIR/gpu (packed into RESULTS_DIR/gpu_results.tar.gz after each step, so
# that a run stopped early still returns what it measured); the log is RESULTS_DIR/session.log.
set -uo pipefail
WHEELS=$(realpath "${1:?wheel directory}")
RESULTS=$(realpath "${2:?results directory}")
REPO=$(cd "$(dirname "$0")/.." && pwd)
RUN="$RESULTS/gpu"
mkdir -p "$RUN"
exec > >(tee -a "$RESULTS/session.log") 2>&1
START=$(date +%s)
log() { echo "[gpu_session +$(( $(date +%s) - START ))s] $*"; }
pack() { tar -czf "$RESULTS/gpu_results.tar.gz" -C "$RESULTS" gpu; }
step() {  # step NAME TIMEOUT_S COMMAND...: runs a step, logs its status, packs the results
    local name=$1 limit=$2; shift 2
    log "step $name (at most ${limit}s): $*"
    timeout "$limit" "$@" > "$RUN/$name.log" 2>&1
    local rc=$?
    log "step $name: exit $rc"; tail -n 25 "$RUN/$name.log"
    pack
    return $rc
}

log "machine: $(nproc) cores; $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader)"
python3 -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda)"
SITE=/tmp/det_kd_site
python3 -m pip install -q --no-index --no-deps --no-compile --target "$SITE" "$WHEELS"/*.whl || exit 1
export PYTHONPATH="$SITE:$REPO"
export PATH="$(dirname "$(command -v python3)"):$PATH"  # ninja, installed beside python3, builds in parallel

# 1. mmcv with CUDA ops, for this GPU's architecture only.
ARCH=$(python3 -c "import torch; print('%d.%d' % torch.cuda.get_device_capability())")
BUILD=/tmp/mmcv_build
rm -rf "$BUILD" && mkdir -p "$BUILD" && tar -xzf "$WHEELS"/mmcv-2.1.0.tar.gz -C "$BUILD"
MMCV="$BUILD/mmcv-2.1.0"
sed -i 's/-std=c++17/-std=c++20/g' "$MMCV/setup.py"  # recent torch headers need C++20 (as tools/setup_env.sh)
cd "$MMCV" || exit 1
step mmcv_build 330 env MMCV_WITH_OPS=1 FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST="$ARCH" MAX_JOBS="$(nproc)" \
    python3 setup.py build_ext --inplace || exit 1
cd "$REPO" || exit 1
export PYTHONPATH="$MMCV:$PYTHONPATH"
python3 -c "import mmcv, mmdet, mmengine, det_kd; from mmcv.ops import RoIPool, nms; print('mmcv', mmcv.__version__, 'mmdet', mmdet.__version__, 'det_kd', det_kd.__version__)" || exit 1

# 2. Latency of the paper's models (and the FPN students), FP32 then FP16 autocast.
PAPER=(configs/faster_rcnn/faster-rcnn_{vgg16,vggm,alexnet,tucker-alexnet}_1x_voc07.py)
FPN=(configs/faster_rcnn/faster-rcnn_{r101,r50,r18,mobilenetv2}_fpn_1x_voc07.py)
for precision in fp32 fp16; do
    flag=(); [ "$precision" = fp16 ] && flag=(--fp16)
    step "latency_$precision" 100 python3 tools/benchmark.py "${PAPER[@]}" "${FPN[@]}" --input-size 600 1000 \
        --device cuda "${flag[@]}" --warmup 10 --runs 50 --no-progress --out-dir "$RUN" \
        --name "latency_paper-models_600x1000_cuda-$precision"
done

# 3. Training cost of the paper pair at 375x500 (the CPU record's size), batch 2, FP32 then AMP.
KD=configs/kd/kd_alexnet-w0.25-vgg16-w0.25_12e_synthetic-coco.py
PAIR=(--student-config configs/faster_rcnn/faster-rcnn_alexnet_1x_voc07.py
      --teacher-config configs/faster_rcnn/faster-rcnn_vgg16_1x_voc07.py --random-teacher)
for precision in fp32 amp; do
    flag=(); [ "$precision" = amp ] && flag=(--amp)
    step "training_$precision" 80 python3 tools/benchmark_training.py "$KD" "${PAIR[@]}" --input-size 375 500 \
        --batch-size 2 --device cuda "${flag[@]}" --warmup 5 --runs 30 --profile-runs 5 --no-progress \
        --out-dir "$RUN" --name "training_cost_paper-vgg16-alexnet_375x500_cuda-$precision"
done

# 4. The CUDA tests.
step cuda_tests 180 python3 -m pytest -s -p no:cacheprovider tests/test_tools/test_cuda.py
log "done"
