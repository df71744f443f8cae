#!/usr/bin/env bash
# Installs every Debian package maskjit needs to build and test (no GPU needed).
# Idempotent: packages already present are skipped by apt-get.
set -euo pipefail

packages=(
  build-essential cmake ninja-build git pkg-config python3
  flex bison
  libcli11-dev libfmt-dev nlohmann-json3-dev libxxhash-dev libpng-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  # LLVM's CMake config checks for these even when linking statically.
  libzstd-dev libxml2-dev libedit-dev libffi-dev libcurl4-openssl-dev
  # libFuzzer and the sanitizers.
  clang-14 libclang-rt-14-dev
  clang-format-14
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "bootstrap: all packages present"
  exit 0
fi
echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
