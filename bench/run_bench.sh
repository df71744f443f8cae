#!/usr/bin/env bash
# The benchmark, one device command: maskjit and the peers on the same cases
# in the same run; prints a table with ratios and writes it to $OUT.
# B=1, H=32, D=128, bf16, S in SIZES (default 16384 32768).
# Usage (repo root, on the GPU machine): bench/run_bench.sh [maskc]
set -u
M=${1:-.gpu/maskc}
OUTDIR=/tmp/maskjit-bench
rm -rf "$OUTDIR" && mkdir -p "$OUTDIR"
SIZES=${SIZES:-"16384 32768"}
P=examples/patterns
for s in $SIZES; do
  python3 -c "print(','.join(str(i // ($s // 16)) for i in range($s)))" > /tmp/doc_$s.txt
  common="--lq $s --batch 1 --heads 32 --head-dim 128 --bench --iters ${ITERS:-20}"
  $M run bench/patterns/dense.mask $common --json "$OUTDIR/mj_dense_$s.json" | tail -1
  $M run $P/causal.mask $common --json "$OUTDIR/mj_causal_$s.json" | tail -1
  $M run $P/sliding_window.mask $common --set window=4096 --json "$OUTDIR/mj_sliding_window_$s.json" | tail -1
  $M run $P/a_shape.mask $common --set sink=128 --set window=2048 --json "$OUTDIR/mj_a_shape_$s.json" | tail -1
  $M run $P/strided.mask $common --set stride=128 --set local=1024 --json "$OUTDIR/mj_strided_$s.json" | tail -1
  $M run $P/document.mask $common --set doc=@/tmp/doc_$s.txt --json "$OUTDIR/mj_document_$s.json" | tail -1
done
python3 bench/peers.py "$(echo $SIZES | tr ' ' ',')" > "$OUTDIR/peers.jsonl" 2> "$OUTDIR/peers.err"
tail -3 "$OUTDIR/peers.err"
python3 bench/report.py "$OUTDIR" | tee "$OUTDIR/results.md"
# What comes back from the device machine: the table, the peers' log and
# everything else in one archive.
if [ -n "${OUT:-}" ]; then
  cp "$OUTDIR/results.md" "$OUTDIR/peers.err" "$OUT"/
  tar czf "$OUT/bench.tgz" -C "$OUTDIR" .
fi
