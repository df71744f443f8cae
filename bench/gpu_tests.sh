#!/usr/bin/env bash
# GPU correctness: every static example pattern x head_dim {64,128} x
# {bf16,fp16} x shapes {B=2 H=8 KV=2 Lq=Lk=1000; Lq=300 Lk=1000; Lq=Lk=4096}
# (plus vertical-slash with given sets, and the per-head mixture of A-shape
# and vertical-slash heads) against the CPU reference, for each
# kernel in KERNELS (default: "auto portable hopper64"; auto is the Hopper
# kernel on an H100 with its default tiles, hopper64 its 64 x 64 tiles,
# which block top-k gets by default; hopper128x64, the experimental
# 128 x 64 tiles whose warpgroups skip the key tiles their rows may not
# see, runs when named), then compute-sanitizer memcheck runs (MEMCHECK=0
# skips them).
# BACKWARD=1 runs the backward kernels too (maskc run --backward --check:
# dQ, dK, dV against the fp64 CPU reference), then compute-sanitizer
# memcheck and racecheck on them.
# Usage (repo root, on the GPU machine): bench/gpu_tests.sh [maskc] [outdir]
set -u
M=${1:-.gpu/maskc}
OUTDIR=${2:-${OUT:-/tmp}}
P=examples/patterns
python3 -c "print(','.join(str(i // 250) for i in range(4096)))" > /tmp/doc.txt
# Given vertical-slash sets: 60 columns and 13 diagonals (local, far, and
# negative ones, which Lq < Lk shapes reach).
python3 -c "import random; r = random.Random(1); print(','.join(map(str, sorted(r.sample(range(4096), 60)))))" > /tmp/vs_cols.txt
echo "-300,-5,0,1,2,3,17,64,65,200,511,901,3000" > /tmp/vs_diags.txt
# Given block top-k lists: 4 key blocks (of 64) for each of 64 query blocks
# (some past the key blocks a shape has: they match no key).
python3 -c "import random; r = random.Random(2); print(';'.join(','.join(map(str, sorted(r.sample(range(64), 4)))) for _ in range(64)))" > /tmp/bt_blocks.txt
fail=0 total=0
run() {
  # ONLY=regex: the runs whose pattern file matches (e.g. ONLY='vertical|mixed').
  if [ -n "${ONLY:-}" ] && ! [[ "$1" =~ $ONLY ]]; then return; fi
  total=$((total + 1))
  # (A time limit per run: a kernel that hangs fails its case instead of
  # the whole call's device time.)
  if ! timeout "${RUN_TIMEOUT:-60}" "$M" run "$@" --check ${BACKWARD:+--backward} --batch "${BATCH:-2}" \
    --heads "${HEADS:-8}" --kv-heads "${KV_HEADS:-2}" > /tmp/run.log 2>&1; then
    fail=$((fail + 1))
    echo "FAIL: $*"
    cat /tmp/run.log
  else
    grep -E "^(check|estimate check|schedule check|backward check:)" /tmp/run.log | sed "s|^|$(basename "$1") $* : |" | cut -c1-260
  fi
}
# --kernel arguments of a KERNELS entry.
kernel_args() {
  case "$1" in
  hopper64) echo "--kernel hopper --tile-m 64" ;;
  hopper128x64) echo "--kernel hopper --tile-m 128 --tile-n 64" ;;
  *) echo "--kernel $1" ;;
  esac
}
for k in ${KERNELS:-auto portable hopper64}; do
ka=$(kernel_args "$k")
for d in 64 128; do
  for t in bf16 fp16; do
    for shape in "--lq 1000 --lk 1000" "--lq 300 --lk 1000" "--lq 4096 --lk 4096"; do
      common="$ka --head-dim $d --dtype $t $shape"
      run $P/causal.mask $common
      run $P/sliding_window.mask $common --set window=300
      run $P/a_shape.mask $common --set sink=64 --set window=256
      run $P/strided.mask $common --set stride=64 --set local=128
      run $P/document.mask $common --set doc=@/tmp/doc.txt
      run $P/neighborhood_2d.mask $common --set width=40 --set radius=3 --set dilation=2
      # Chunks that tiles straddle: the row mask's atoms on key blocks.
      run bench/patterns/chunked.mask $common --set chunk=100 --set window=30
      run $P/neighborhood_2d.mask $common --set width=300 --set radius=4
      # A dilated window: one problem per class of positions mod 3.
      run bench/patterns/dilated_window.mask $common --set window=300 --set dilation=3
      run $P/vertical_slash.mask $common --select columns=@/tmp/vs_cols.txt \
        --select diagonals=@/tmp/vs_diags.txt
      # Sets estimated on the GPU per head (one sequence), checked against
      # the CPU reference estimator, then the attention under those sets.
      BATCH=1 run $P/vertical_slash.mask $common --set vertical=40 --set slash=8
      # Block top-k: given lists, then estimated on the GPU per head
      # (checked against the CPU reference estimator).
      run $P/block_topk.mask $common --set keep=4 --select blocks=@/tmp/bt_blocks.txt
      BATCH=1 run $P/block_topk.mask $common --set keep=4
      # Per-head mixture in one launch: heads 0-7 A-shape, 8-11 vertical-slash.
      HEADS=12 KV_HEADS=4 run $P/mixed.mask $common --select columns=@/tmp/vs_cols.txt \
        --select diagonals=@/tmp/vs_diags.txt
    done
  done
done
# Sets estimated for a batch of 2 (the batch in one launch, sets per
# (sequence, head): the first and the last checked against the CPU
# reference, every sampled row's attention under its own sequence's sets).
run $P/vertical_slash.mask $ka --lq 1000 --lk 1000 --head-dim 128 --set vertical=40 --set slash=8
run $P/block_topk.mask $ka --lq 300 --lk 1000 --head-dim 64 --dtype fp16 --set keep=4
# Per-head dispatch with sets estimated per sequence: each (sequence, head)
# row binds its own head.
HEADS=12 KV_HEADS=4 run $P/mixed.mask $ka --lq 2500 --lk 2500 --head-dim 128
# More queries than keys: the first rows see no key (O = 0, LSE = -inf).
run $P/causal.mask $ka --lq 1000 --lk 300 --head-dim 128
run $P/sliding_window.mask $ka --lq 1000 --lk 300 --head-dim 64 --dtype fp16 --set window=50
done
echo "gpu tests: $((total - fail)) of $total passed"
if [ "${MEMCHECK:-1}" = 1 ] && command -v compute-sanitizer >/dev/null 2>&1; then
  # Gathered keys (strided), documents (the run-table row mask), the
  # estimated vertical-slash (estimator, GPU schedule builder) and block
  # top-k pipelines, and dilated patterns (tiles loaded by position).
  for k in ${KERNELS:-auto portable hopper64}; do
    ka=$(kernel_args "$k")
    for args in "strided.mask --batch 2 --heads 8 --kv-heads 2 --set stride=64 --set local=128" \
      "document.mask --batch 2 --heads 8 --kv-heads 2 --set doc=@/tmp/doc.txt" \
      "vertical_slash.mask --batch 2 --heads 4 --kv-heads 2 --set vertical=40 --set slash=8" \
      "block_topk.mask --batch 2 --heads 4 --kv-heads 2 --set keep=4" \
      "neighborhood_2d.mask --batch 2 --heads 4 --kv-heads 2 --set width=40 --set radius=3 --set dilation=2" \
      "../../bench/patterns/dilated_window.mask --batch 2 --heads 4 --kv-heads 2 --set window=300 --set dilation=3"; do
      set -- $args
      f=$1; shift
      compute-sanitizer --tool memcheck --error-exitcode 9 "$M" run $P/$f \
        $ka --lq 300 --lk 1000 "$@" --check > /tmp/memcheck.log 2>&1
      rc=$?
      tail -3 /tmp/memcheck.log
      echo "memcheck ($k, $f) exit status: $rc"
      [ $rc -eq 0 ] || fail=$((fail + 1))
    done
  done
fi
if [ -n "${BACKWARD:-}" ] && [ "${MEMCHECK:-1}" = 1 ] && command -v compute-sanitizer >/dev/null 2>&1; then
  # The backward kernels: out-of-bounds accesses and shared-memory races.
  for tool in memcheck racecheck; do
    for args in "strided.mask --set stride=64 --set local=128" \
      "document.mask --set doc=@/tmp/doc.txt" \
      "../../bench/patterns/dilated_window.mask --set window=300 --set dilation=3"; do
      set -- $args
      f=$1; shift
      compute-sanitizer --tool $tool --error-exitcode 9 "$M" run $P/$f --batch 1 --heads 2 \
        --kv-heads 1 --lq 300 --lk 500 "$@" --check --backward > /tmp/sanitizer.log 2>&1
      rc=$?
      tail -2 /tmp/sanitizer.log
      echo "$tool (backward, $f) exit status: $rc"
      [ $rc -eq 0 ] || fail=$((fail + 1))
    done
  done
fi
echo "{\"total\": $total, \"failed\": $fail}" > "$OUTDIR/gpu_tests.json"
[ $fail -eq 0 ]
