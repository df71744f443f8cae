#!/usr/bin/env bash
# Nsight Compute profile of block top-k (keep 16 of 64) and of dense with the
# same 64 x 64 Hopper tiles at 32k (B=1, H=32, D=128, bf16): the full
# section set of one launch each, then a summary of stall reasons, the
# hottest instructions and uncoalesced accesses (bench/ncu_summary.py).
# Usage (repo root, on the GPU machine): bench/ncu_block_topk.sh [maskc] [outdir]
set -eu
M=${1:-.gpu/maskc}
OUTDIR=${2:-${OUT:-/tmp}}
P=examples/patterns/block_topk.mask
topk="--lq 32768 --heads 32 --set keep=16 --set block=64"
# The blocks estimated once, given back: the attention launch alone.
"$M" run $P $topk --iters 2 --export-sets /tmp/ncu_sets.json > /dev/null
NCU="ncu --clock-control none -k regex:maskjit_attention --launch-skip 1 --launch-count 1
  --set full --import-source yes"
$NCU -f -o "$OUTDIR/keep16" "$M" run $P $topk --bench --iters 2 \
  --select sets=@/tmp/ncu_sets.json > /dev/null
$NCU -f -o "$OUTDIR/dense64" "$M" run bench/patterns/dense.mask --lq 32768 --heads 32 \
  --bench --iters 2 --kernel hopper --tile-m 64 > /dev/null
for r in keep16 dense64; do
  echo "== $r"
  ncu -i "$OUTDIR/$r.ncu-rep" --page details > "$OUTDIR/$r.details.txt"
  grep -E "Duration|L2 Cache Throughput|L2 Hit Rate|DRAM Throughput|Tensor is|Compute \(SM\)" \
    "$OUTDIR/$r.details.txt"
  ncu -i "$OUTDIR/$r.ncu-rep" --page source --csv --print-source sass > /tmp/ncu_sass.csv
  python3 bench/ncu_summary.py /tmp/ncu_sass.csv 25
done
