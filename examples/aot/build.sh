#!/usr/bin/env bash
# Builds the AOT example: writes the kernels with maskc aot, then compiles
# them with main.cpp against maskjit's schedule library and the CUDA driver
# API (cuda.h and libcuda; the toolkit's stub libcuda is enough to link on
# a machine without a GPU). With CMake, find_package(maskjit) gives the
# library as maskjit::schedule (examples/find_package does so).
# Usage: examples/aot/build.sh MASKC OUT_DIR [CUDA_HOME]
#   MASKJIT_INCLUDE  maskjit's headers (default: this checkout's include/)
#   MASKJIT_SCHEDULE_LIB  libmaskjit_schedule.a (default: beside maskc in a
#                    build tree, BUILD/schedule/)
set -euo pipefail
maskc=$1 out=$2 cuda=${3:-/usr/local/cuda}
here=$(cd "$(dirname "$0")" && pwd)
include=${MASKJIT_INCLUDE:-$here/../../include}
lib=${MASKJIT_SCHEDULE_LIB:-$(dirname "$maskc")/../../schedule/libmaskjit_schedule.a}
[ -f "$lib" ] || { echo "error: no schedule library at $lib (set MASKJIT_SCHEDULE_LIB)" >&2; exit 2; }
mkdir -p "$out"
"$maskc" aot "$here/../patterns/sliding_window.mask" --set window=256 \
  --arch sm_80,sm_90a --head-dim 128 --dtype bf16 -o "$out/kernels"
libdir=$cuda/lib64
[ -e "$libdir/libcuda.so" ] || [ -e "$libdir/libcuda.so.1" ] || libdir=$cuda/lib64/stubs
${CXX:-g++} -std=c++17 -O2 -Wall -I"$out/kernels" -I"$include" -I"$cuda/include" \
  "$here/main.cpp" "$out/kernels/sliding_window.cpp" "$lib" \
  -L"$libdir" -lcuda ${LDFLAGS:-} -o "$out/aot_example"
echo "built $out/aot_example"
