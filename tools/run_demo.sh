#!/usr/bin/env bash
# Sets everything up (tools/setup_env.sh), then runs the demo (tools/demo.py) on data it generates:
# a teacher, a baseline student and a distilled student, evaluated side by side.
#   bash tools/run_demo.sh                      # one seed, 13 minutes on 2 idle CPU cores (README); work_dirs/demo
#   bash tools/run_demo.sh --seeds 0 1 2        # any tools/demo.py arguments
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/tools/setup_env.sh"
cd "$ROOT"
exec "${DET_KD_VENV:-$ROOT/.venv}/bin/python" tools/demo.py "$@"
