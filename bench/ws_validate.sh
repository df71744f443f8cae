#!/usr/bin/env bash
# Validation of the Hopper kernel's synchronization on the GPU machine
# (the default kernels, warp specialized since session 11, or those built
# with the kernel experiment flags in FLAGS): compute-sanitizer's
# synccheck and racecheck on small shapes of both square tile sizes (TMA
# tiles, gathered keys, works with no item, batch and GQA), then the
# correctness suite under the same flags for the Hopper kernels
# (bench/gpu_tests.sh, KERNELS="auto hopper64", memcheck included).
# Every run has a time limit (a hang fails its case, not the call);
# PART=sanitizers or PART=tests runs one half (each fits a 10-minute call).
# Usage (repo root): [FLAGS="-DMJ_EXP_WS_PINGPONG"] [PART=...] bench/ws_validate.sh [maskc] [outdir]
set -u
M=${1:-.gpu/maskc}
OUTDIR=${2:-${OUT:-/tmp}}
export MASKJIT_NVRTC_FLAGS="${FLAGS:-}"
echo "== kernel flags: $MASKJIT_NVRTC_FLAGS"
P=examples/patterns
status=0
[ "${PART:-all}" = tests ] || for tool in synccheck racecheck; do
  for args in "$P/block_topk.mask --lq 700 --lk 900 --batch 2 --heads 4 --kv-heads 2 --set keep=4 --set block=64" \
      "$P/vertical_slash.mask --lq 900 --heads 2 --set vertical=60 --set slash=6 --kernel hopper --tile-m 64" \
      "$P/vertical_slash.mask --lq 900 --heads 2 --set vertical=60 --set slash=6" \
      "$P/causal.mask --lq 700 --lk 300 --heads 2 --batch 2" \
      "$P/causal.mask --lq 700 --lk 300 --heads 2 --kernel hopper --tile-m 64"; do
    timeout "${SANITIZER_TIMEOUT:-90}" compute-sanitizer --tool $tool --error-exitcode 9 "$M" run $args --check \
      > /tmp/ws_validate.log 2>&1
    rc=$?
    echo "$tool $(basename ${args%% *}) ${args#* }: exit $rc; $(grep -E '^check' /tmp/ws_validate.log | cut -c1-80)"
    if [ $rc != 0 ]; then
      status=1
      grep -E "ERROR|Error|error|hazard" /tmp/ws_validate.log | head -5
    fi
    if [ $rc = 124 ]; then
      echo "HUNG: the sanitizer runs stop here"
      break 2
    fi
  done
done
if [ "${PART:-all}" != sanitizers ]; then
  KERNELS="auto hopper64" RUN_TIMEOUT=60 bash bench/gpu_tests.sh "$M" "$OUTDIR" \
    > "$OUTDIR/ws_gpu_tests.log" 2>&1 || status=1
  cat "$OUTDIR/gpu_tests.json"
  grep -E "^FAIL|exit status: [1-9]" "$OUTDIR/ws_gpu_tests.log" | head -10
fi
exit $status
