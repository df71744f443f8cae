#!/usr/bin/env bash
# The MJ_EXP_* switches are in bench/experiments/kernel_experiments.patch:
# apply it and rebuild first (bench/experiments/README.md).
# What block top-k's time at 32k is made of (B=1, H=32, D=128, bf16, 64 x 64
# Hopper tiles, blocks given back: the attention launch alone). Sets of 16
# blocks per query block with different shapes: the estimator's (random
# inputs), local (q-15 .. q: one run of tiles, neighbours share 15), shared
# (0..14 and the diagonal for every query block), uniform random below the
# diagonal plus the diagonal, and the same without the diagonal (16 blocks
# strictly below it: every item a FULL tile, no row mask); then keep 8 and
# 32 (time against items gives the cost per item and per work), dense
# 64 x 64, and each with the timeline kernel (bench/timeline_block_topk.sh
# explains its phases). Both run the one-warpgroup loop (MJ_EXP_NO_WS: the
# timeline instruments it; the producer warpgroup, the default since
# session 11, took the hand-over off the tensor cores' path).
# Usage (repo root, on the GPU machine): bench/block_topk_anatomy.sh [maskc]
set -eu
M=${1:-.gpu/maskc}
P=examples/patterns/block_topk.mask
S="--lq 32768 --heads 32 --set block=64"
python3 - <<'PY'
import json, random
nb, H = 512, 32
def write(name, fn):
    heads = [{"blocks": [sorted(fn(q)) for q in range(nb)]} for h in range(H)]
    json.dump({"heads": heads}, open(f"/tmp/anat_{name}.json", "w"))
rnd = random.Random(7)
write("local", lambda q: range(max(0, q - 15), q + 1))
write("shared", lambda q: set(range(min(q, 15))) | {q})
write("uniform", lambda q: set(rnd.sample(range(q), min(q, 15))) | {q})
write("nodiag", lambda q: set(rnd.sample(range(q), min(q, 16))) if q else {0})
PY
for keep in 8 16 32; do
  "$M" run $P $S --set keep=$keep --iters 2 --export-sets /tmp/anat_r$keep.json > /dev/null
done
for flags in "-DMJ_EXP_NO_WS" "-DMJ_EXP_NO_WS -DMJ_EXP_TIMELINE"; do
  export MASKJIT_NVRTC_FLAGS="$flags"
  echo "== kernel flags '$flags'"
  for sets in r16 local shared uniform nodiag r8 r32; do
    keep=16; [ $sets = r8 ] && keep=8; [ $sets = r32 ] && keep=32
    timeout 60 "$M" run $P $S --set keep=$keep --bench --iters 30 --select sets=@/tmp/anat_$sets.json |
      grep -E "^bench|^timeline" | tail -2 | sed "s/^/$sets: /"
  done
  timeout 120 "$M" run bench/patterns/dense.mask --lq 32768 --heads 32 --bench --iters 3 --kernel hopper \
    --tile-m 64 | grep -E "^bench|^timeline" | tail -2 | sed "s/^/dense 64x64: /"
done
