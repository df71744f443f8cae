#!/usr/bin/env bash
# Installs this build into a scratch prefix, builds examples/find_package
# against it with find_package(maskjit), and runs its check program.
# Usage: find_package.sh BUILD_DIR SOURCE_DIR WORK_DIR
set -euo pipefail
build=$1 src=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
cmake -S "$src/examples/find_package" -B "$work/user" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/configure.log"
cmake --build "$work/user" > "$work/build.log"
"$work/user/package_check" "$src/examples/patterns/sliding_window.mask"
