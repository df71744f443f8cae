#!/usr/bin/env bash
# Installs this build into a scratch prefix, builds examples/find_package
# against it with find_package(maskjit) — with an AOT kernel linking
# maskjit::schedule when the CUDA toolkit is here — and runs its check
# program.
# Usage: find_package.sh BUILD_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
build=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
aot=()
if [ -f /usr/local/cuda/include/cuda.h ]; then
  "$build/tools/maskc/maskc" aot "$src/examples/patterns/sliding_window.mask" \
    --set window=256 --arch sm_90a --head-dim 128 -o "$work/kernels" > "$work/aot.log"
  aot=(-DMASKJIT_AOT_KERNELS="$work/kernels" -DCUDAToolkit_ROOT=/usr/local/cuda)
fi
cmake -S "$src/examples/find_package" -B "$work/user" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" "${aot[@]}" > "$work/configure.log"
cmake --build "$work/user" > "$work/build.log"
[ ${#aot[@]} -eq 0 ] || { [ -x "$work/user/aot_example" ] && echo "aot_example built against the installed maskjit::schedule"; }
"$work/user/package_check" "$src/examples/patterns/sliding_window.mask"
