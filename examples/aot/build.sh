#!/usr/bin/env bash
# Builds the AOT example: writes the kernels with maskc aot, then compiles
# them with main.cpp using only the CUDA driver API (cuda.h and libcuda; the
# toolkit's stub libcuda is enough to link on a machine without a GPU).
# Usage: examples/aot/build.sh MASKC OUT_DIR [CUDA_HOME]
set -euo pipefail
maskc=$1 out=$2 cuda=${3:-/usr/local/cuda}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
"$maskc" aot "$here/../patterns/sliding_window.mask" --set window=256 \
  --arch sm_80,sm_90a --head-dim 128 --dtype bf16 -o "$out/kernels"
libdir=$cuda/lib64
[ -e "$libdir/libcuda.so" ] || [ -e "$libdir/libcuda.so.1" ] || libdir=$cuda/lib64/stubs
${CXX:-g++} -std=c++17 -O2 -Wall -I"$out/kernels" -I"$cuda/include" \
  "$here/main.cpp" "$out/kernels/sliding_window.cpp" \
  -L"$libdir" -lcuda -o "$out/aot_example"
echo "built $out/aot_example"
