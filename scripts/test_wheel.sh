#!/usr/bin/env bash
# The wheel, installed where only it and NVIDIA's NVRTC wheel are: builds
# `pip wheel .`, installs it with the `cuda` extra into a fresh virtual
# environment, and compiles a kernel there, checking that the NVRTC it used
# is the nvidia-cuda-nvrtc wheel's (not the toolkit's) and that the
# shipped patterns came along. No GPU needed (the kernel is compiled for
# sm_90a). Usage: scripts/test_wheel.sh (repo root, after bootstrap.sh).
set -euo pipefail
ROOT=$(pwd)
WHEELS=$ROOT/build/wheel
VENV=${VENV:-$ROOT/build/wheel-venv}
rm -rf "$WHEELS" "$VENV"
python3 -m pip wheel --quiet --no-deps -w "$WHEELS" .
wheel=$(ls "$WHEELS"/maskjit-*.whl)
echo "built $(basename "$wheel") ($(du -h "$wheel" | cut -f1))"
case $(basename "$wheel") in
*-py3-none-*) ;;
*) echo "the wheel should be py3-none (ctypes, no extension module)" >&2; exit 1 ;;
esac
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check "$wheel[cuda]"
(cd /tmp && env -u MASKJIT_LIBRARY -u MASKJIT_NVRTC "$VENV/bin/python" - <<'PY'
import os
import maskjit
assert "sliding_window" in maskjit.PATTERNS, maskjit.PATTERNS
kernel = maskjit.compile("sliding_window", window=256, arch="sm_90a", cache=False)
maps = open("/proc/self/maps").read()
used = sorted({line.split()[-1] for line in maps.splitlines() if "libnvrtc.so" in line})
assert used and all("/nvidia/" in p for p in used), f"NVRTC not from the wheel: {used}"
assert os.path.dirname(maskjit.__file__) in maps, "libmaskjit not the wheel's"
print(f"wheel OK: {kernel.family} kernel compiled with {used[0]}")
PY
)
