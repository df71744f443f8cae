#!/usr/bin/env bash
# The MJ_EXP_* switches are in bench/experiments/kernel_experiments.patch:
# apply it and rebuild first (bench/experiments/README.md).
# Where the Hopper kernel's time goes per work, for block top-k (keep 8, 16,
# 32 of 64) and dense with the same 64 x 64 tiles at 32k (B=1, H=32, D=128,
# bf16): the kernel built with -DMJ_EXP_TIMELINE sums thread 0's SM cycles
# per phase over the grid and prints them once per launch; this prints the
# last launch's sums per work (cycles): the first item's wait (Q and its
# K/V), the later items' waits, the items' work, the last PV product, the
# next work's set-up, the output. Block top-k runs with its estimated blocks
# given back (the attention launch alone). The instrumented kernel is a
# little slower; compare phases, not times. LOOP=ws (default) instruments
# the warp-specialized loop's first consumer thread: "next work" is then its
# wait for the producer's next work and that work's Q, "first wait" the
# first item's K/V after it, "output" writing O and the loop's top;
# LOOP=old the one-warpgroup loop (MJ_EXP_NO_WS). EXTRA adds NVRTC flags
# (another experiment under the timeline).
# Usage (repo root, on the GPU machine):
#   [LOOP=ws|old] [EXTRA=-DMJ_EXP_...] bench/timeline_block_topk.sh [maskc]
set -eu
M=${1:-.gpu/maskc}
P=examples/patterns/block_topk.mask
summary() {
  grep "^timeline" | tail -1 | python3 -c '
import re, sys
label = sys.argv[1]
v = [int(x) for x in re.findall(r"\d+", sys.stdin.read())]
works, items = v[6], v[7]
names = ["first wait", "item waits", "items", "last PV", "next work", "output"]
print(f"{label}: {works} works, {items / works:.1f} items per work; cycles per work: " +
      ", ".join(f"{n} {x / works:.0f}" for n, x in zip(names, v[:6])) +
      f"; per item: wait {v[1] / max(items - works, 1):.0f}, work {v[2] / items:.0f}")
' "$1"
}
for keep in 8 16 32; do
  "$M" run $P --lq 32768 --heads 32 --set keep=$keep --set block=64 --iters 2 \
    --export-sets /tmp/tl_sets_$keep.json > /dev/null
done
case "${LOOP:-ws}" in
ws) export MASKJIT_NVRTC_FLAGS="-DMJ_EXP_TIMELINE ${EXTRA:-}" ;;
old) export MASKJIT_NVRTC_FLAGS="-DMJ_EXP_NO_WS -DMJ_EXP_TIMELINE ${EXTRA:-}" ;;
*) echo "LOOP is ws or old" >&2; exit 2 ;;
esac
for keep in 8 16 32; do
  "$M" run $P --lq 32768 --heads 32 --set keep=$keep --set block=64 --bench --iters 3 \
    --select sets=@/tmp/tl_sets_$keep.json | summary "keep $keep"
done
"$M" run bench/patterns/dense.mask --lq 32768 --heads 32 --bench --iters 2 --kernel hopper \
  --tile-m 64 | summary "dense 64x64"
