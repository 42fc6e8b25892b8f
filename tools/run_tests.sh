#!/usr/bin/env bash
# Sets everything up (tools/setup_env.sh) and runs det_kd's test suite. Extra arguments go to pytest.
#   bash tools/run_tests.sh            # whole suite
#   bash tools/run_tests.sh -k kitti   # a subset
# pytest exits non-zero on any failure and when no test is collected (exit code 5).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/tools/setup_env.sh"
cd "$ROOT"
exec "${DET_KD_VENV:-$ROOT/.venv}/bin/python" -m pytest tests "$@"
