#!/usr/bin/env bash
# The main job on a fresh machine: set up, build, then compile a shipped
# example pattern and show what maskjit makes of it: its block map (and a
# PNG picture), the kernel's schedule and its compiled size, and, when an
# NVIDIA GPU is present, a checked and timed run of the kernel.
# Usage: scripts/demo.sh [pattern.mask] [--set name=value ...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
BUILD_DIR=build bash scripts/build.sh >/dev/null
maskc=build/tools/maskc/maskc
file=${1:-examples/patterns/a_shape.mask}
shift || true
sets=("$@")
L=${DEMO_LEN:-16384}

echo "== check"
"$maskc" check "$file"
echo "== block map (reference evaluator), picture in demo.png"
"$maskc" show "$file" --lq "$L" --tile 128x128 --width 64 --png demo.png "${sets[@]}"
echo "== the compiler's KV schedule for the kernel's 64x64 tiles"
"$maskc" blocks "$file" --lq "$L" --tile 64x64 "${sets[@]}" | tail -n 1
if [ -e /usr/local/cuda/lib64/libnvrtc.so ] || ldconfig -p 2>/dev/null | grep -q libnvrtc; then
  echo "== kernel (NVRTC, sm_90a)"
  "$maskc" compile "$file" --arch sm_90a --emit ptx -o demo.ptx "${sets[@]}"
  echo "PTX: $(wc -c < demo.ptx) bytes in demo.ptx (stats above: a non-zero stack frame means spills or local arrays)"
fi
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "== on the GPU: B=1 H=32 D=128 bf16, checked against the CPU reference, timed"
  "$maskc" run "$file" --lq "$L" --heads 32 --head-dim 128 --check --bench "${sets[@]}"
else
  echo "No GPU here: the kernel is not run (maskc run needs an NVIDIA GPU)."
fi
