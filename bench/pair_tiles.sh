#!/usr/bin/env bash
# Block top-k on 128 x 64 Hopper tiles built with a kernel experiment
# (default: MJ_EXP_WS_PAIR, the warp-specialized loop whose two consumer
# warpgroups each skip the union's items their rows may not see), against
# the default 64 x 64 kernel. First correctness: bench/gpu_tests.sh's block
# top-k, vertical-slash and causal runs on 128 x 64 tiles, and synccheck and
# racecheck on small shapes; then at 32k (B=1, H=32, D=128, bf16) keep 16 and
# keep 8 of 64 on random and positional inputs, blocks estimated once and
# given back (the attention launch alone), alternating, twice.
# Usage (repo root, on the GPU machine): [FLAGS=...] bench/pair_tiles.sh [maskc] [outdir]
set -u
M=${1:-.gpu/maskc}
OUTDIR=${2:-${OUT:-/tmp}}
FLAGS=${FLAGS:--DMJ_EXP_WS_PAIR}
P=examples/patterns/block_topk.mask
PAIR="--kernel hopper --tile-m 128 --tile-n 64"
status=0
echo "== correctness, 128 x 64 with '$FLAGS'"
MASKJIT_NVRTC_FLAGS="$FLAGS" KERNELS=hopper128x64 ONLY='block|vertical|causal' MEMCHECK=0 \
  RUN_TIMEOUT=60 bash bench/gpu_tests.sh "$M" "$OUTDIR" > "$OUTDIR/pair_gpu_tests.log" 2>&1 || status=1
grep -E "^FAIL" "$OUTDIR/pair_gpu_tests.log" | head -5
cat "$OUTDIR/gpu_tests.json"
for tool in synccheck racecheck; do
  for args in "$P --lq 700 --lk 900 --batch 2 --heads 4 --kv-heads 2 --set keep=4 --set block=64" \
      "examples/patterns/vertical_slash.mask --lq 900 --heads 2 --set vertical=60 --set slash=6"; do
    MASKJIT_NVRTC_FLAGS="$FLAGS" timeout 90 compute-sanitizer --tool $tool --error-exitcode 9 \
      "$M" run $args $PAIR --check > /tmp/pair_san.log 2>&1
    rc=$?
    echo "$tool $(basename ${args%% *}): exit $rc; $(grep -E '^check' /tmp/pair_san.log | cut -c1-80)"
    [ $rc = 0 ] || { status=1; grep -E "ERROR|rror|hazard" /tmp/pair_san.log | head -3; }
    [ $rc = 124 ] && exit 1
  done
done
S="--lq 32768 --heads 32 --set block=64"
for sets in random:16 positional:16 random:8; do
  "$M" run $P $S --inputs ${sets%:*} --set keep=${sets#*:} --iters 2 \
    --export-sets /tmp/pair_${sets%:*}${sets#*:}.json > /dev/null
done
for rep in 1 2; do
  for variant in "64x64 (default)" "128x64 $FLAGS"; do
    for sets in random:16 positional:16 random:8; do
      if [[ "$variant" == 64x64* ]]; then flags="" args=""; else flags="$FLAGS" args="$PAIR"; fi
      line=$(MASKJIT_NVRTC_FLAGS="$flags" timeout 60 "$M" run $P $S $args --inputs ${sets%:*} \
        --set keep=${sets#*:} --bench --iters 30 --select sets=@/tmp/pair_${sets%:*}${sets#*:}.json |
        grep "^bench")
      echo "run $rep, $variant, keep ${sets#*:} ${sets%:*}: ${line:-no result}"
    done
  done
done
exit $status
