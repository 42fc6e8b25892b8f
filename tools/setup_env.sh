#!/usr/bin/env bash
# Idempotent set-up of det_kd's tested stack in a virtual environment it owns.
#
#   bash tools/setup_env.sh            # creates/updates ./.venv
#   DET_KD_VENV=/path/to/venv bash tools/setup_env.sh
#
# Installs torch 2.14.1, torchvision 0.29.1, mmcv 2.1.0 (with compiled ops), mmengine 0.10.7,
# mmdet 3.3.0, pycocotools and det_kd itself (editable). Nothing outside the venv is touched, except
# a wheel cache for the from-source mmcv build (DET_KD_WHEEL_CACHE, default ~/.cache/det_kd/wheels).
#
# mmcv 2.1.0 has no wheel for torch 2.14 on PyPI. A wheel offered through pip's own PIP_FIND_LINKS
# (or found in the wheel cache) is used; otherwise mmcv is built from its PyPI sdist with -std=c++20
# (torch 2.14 headers need C++20), setuptools<81 (mmcv's setup.py imports pkg_resources) and no build
# isolation. That build takes about 18 minutes on 2 cores, once per machine.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${DET_KD_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
WHEEL_CACHE="${DET_KD_WHEEL_CACHE:-$HOME/.cache/det_kd/wheels}"

TORCH=2.14.1
TORCHVISION=0.29.1
MMCV=2.1.0
MMENGINE=0.10.7
MMDET=3.3.0

log() { printf '[setup_env] %s\n' "$*" >&2; }

if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtual environment $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP=("$PY" -m pip --disable-pip-version-check)

# Fast path: everything already installed at the tested versions (takes a few seconds).
if "$PY" - "$ROOT" "$TORCH" "$TORCHVISION" "$MMCV" "$MMENGINE" "$MMDET" <<'PYCHECK' 2>/dev/null; then
import os, sys
root, *want = sys.argv[1:]
import torch, torchvision, mmcv, mmengine, mmdet, pycocotools  # noqa: F401
import pkg_resources  # noqa: F401  (mmengine resolves `mmdet::` config paths with it)
from mmcv.ops import nms  # noqa: F401  (compiled ops present)
import det_kd, det_kd_kitti
have = [torch.__version__.split('+')[0], torchvision.__version__.split('+')[0],
        mmcv.__version__, mmengine.__version__, mmdet.__version__]
assert have == want, (have, want)
for package in (det_kd, det_kd_kitti):  # this checkout's packages, installed editable (a new one reinstalls)
    assert os.path.realpath(os.path.dirname(package.__file__)) == os.path.realpath(os.path.join(root, package.__name__))
PYCHECK
    log "environment $VENV is up to date"
    exit 0
fi

log "installing build tools"
"${PIP[@]}" install -q "pip>=23" "setuptools<81" wheel ninja

log "installing torch==$TORCH torchvision==$TORCHVISION"
"${PIP[@]}" install -q "torch==$TORCH" "torchvision==$TORCHVISION"

if ! "$PY" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV'" 2>/dev/null; then
    mkdir -p "$WHEEL_CACHE"
    log "installing mmcv==$MMCV from a wheel if one is offered (PIP_FIND_LINKS or $WHEEL_CACHE)"
    if ! "${PIP[@]}" install -q --no-deps --only-binary mmcv --find-links "$WHEEL_CACHE" "mmcv==$MMCV"; then
        log "no mmcv wheel found: building mmcv==$MMCV with its ops from source (about 18 minutes on 2 cores)"
        # torch pulls in a recent setuptools; mmcv's setup.py still needs pkg_resources (setuptools<81).
        "${PIP[@]}" install -q "setuptools<81" "mmengine==$MMENGINE" addict packaging psutil pyyaml yapf opencv-python
        BUILD_DIR="$(mktemp -d)"
        trap 'rm -rf "$BUILD_DIR"' EXIT
        "${PIP[@]}" download -q --no-deps --no-binary mmcv -d "$BUILD_DIR" "mmcv==$MMCV"
        tar -xzf "$BUILD_DIR"/mmcv-"$MMCV".tar.gz -C "$BUILD_DIR"
        sed -i 's/-std=c++17/-std=c++20/g' "$BUILD_DIR/mmcv-$MMCV/setup.py"
        MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
            "${PIP[@]}" wheel --no-build-isolation --no-deps -w "$WHEEL_CACHE" "$BUILD_DIR/mmcv-$MMCV"
        "${PIP[@]}" install -q --no-deps "$WHEEL_CACHE"/mmcv-"$MMCV"-*.whl
    fi
fi

log "installing mmengine==$MMENGINE mmdet==$MMDET pycocotools and det_kd (editable)"
# mmengine imports pkg_resources (config `mmdet::` paths), which setuptools >= 81 removed.
"${PIP[@]}" install -q "setuptools<81" "mmengine==$MMENGINE" "mmdet==$MMDET" pycocotools -e "$ROOT[tests]"

"$PY" -c "import det_kd, mmcv.ops, mmdet; print('[setup_env] ready: det_kd', det_kd.__version__, 'mmdet', mmdet.__version__)"
