#!/usr/bin/env bash
# The main job on a fresh machine: set up, build, then compile a shipped
# example pattern and show its block map and statistics (and a PNG picture).
# Usage: scripts/demo.sh [pattern.mask] [maskc show options...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
BUILD_DIR=build bash scripts/build.sh >/dev/null
maskc=build/tools/maskc/maskc
file=${1:-examples/patterns/a_shape.mask}
shift || true
if [ "$#" -eq 0 ]; then
  set -- --lq 16384 --tile 128x128 --width 64 --png a_shape.png
fi
"$maskc" check "$file"
"$maskc" show "$file" "$@"
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "GPU present; GPU kernels are not built yet (see the README's status)."
else
  echo "No GPU here: the block map above comes from the CPU reference evaluator."
fi
