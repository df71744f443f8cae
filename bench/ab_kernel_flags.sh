#!/usr/bin/env bash
# The MJ_EXP_* switches are in bench/experiments/kernel_experiments.patch:
# apply it and rebuild first (bench/experiments/README.md).
# A/B of kernel experiments: each variant is a set of NVRTC flags
# (MASKJIT_NVRTC_FLAGS, e.g. -DMJ_EXP_TIMELINE); variants are ';'-separated
# in EXP_FLAGS, the empty variant (the default kernel) first, and the list
# runs twice so that drift between runs shows. Per variant: --check of
# small shapes that cover the kernel's paths (TMA tiles, gathered keys,
# dilated classes, batch, GQA, Lq != Lk, works whose rows see no key; 64 x 64
# and 128 x 128 tiles), the
# first time only; then at 32k (B=1, H=32, D=128, bf16) dense on both
# Hopper shapes, block top-k keep 16 of 64 on random and positional inputs
# and keep 8 (blocks estimated once and given back: the attention alone)
# and a dilated window. Every run has a time limit: a variant that hangs
# shows as a missing line, not a lost call.
# Usage (repo root, on the GPU machine):
#   EXP_FLAGS=";-DMJ_EXP_NO_WS" [CHECK_TIMEOUT=20] bench/ab_kernel_flags.sh [maskc]
set -u
M=${1:-.gpu/maskc}
P=examples/patterns/block_topk.mask
S="--lq 32768 --heads 32"
for sets in random:16 positional:16 random:8; do
  "$M" run $P $S --inputs ${sets%:*} --set keep=${sets#*:} --set block=64 --iters 2 \
    --export-sets /tmp/ab_${sets%:*}${sets#*:}.json > /dev/null
done
IFS=';' read -ra VARIANTS <<< "${EXP_FLAGS:-}"
[ ${#VARIANTS[@]} -eq 0 ] && VARIANTS=("")
status=0
declare -A HUNG # variants whose check hung: neither checked further nor timed
for rep in 1 2; do
  for variant in "${VARIANTS[@]}"; do
    export MASKJIT_NVRTC_FLAGS="$variant"
    echo "== variant '$variant' (run $rep)"
    if [ -n "${HUNG["v$variant"]:-}" ]; then
      echo "  skipped: a check hung"
      continue
    fi
    if [ $rep = 1 ]; then
      for args in "$P --lq 1000 --lk 1500 --batch 2 --heads 4 --kv-heads 2 --set keep=5 --set block=64" \
          "$P --lq 3000 --heads 2 --set keep=3 --set block=64" \
          "examples/patterns/vertical_slash.mask --lq 3000 --heads 2 --set vertical=100 --set slash=8 --kernel hopper --tile-m 64" \
          "examples/patterns/vertical_slash.mask --lq 3000 --lk 2500 --heads 2 --set vertical=100 --set slash=8" \
          "examples/patterns/strided.mask --lq 2000 --heads 2 --batch 2 --set stride=64 --set local=128" \
          "bench/patterns/dense.mask --lq 777 --heads 3 --tile-m 64" "bench/patterns/dense.mask --lq 777 --heads 3" \
          "examples/patterns/causal.mask --lq 1000 --lk 1300 --heads 2" \
          "examples/patterns/causal.mask --lq 1000 --lk 300 --heads 2 --batch 2 --kernel hopper --tile-m 64" \
          "examples/patterns/strided.mask --lq 2000 --heads 2 --set stride=64 --set local=128 --kernel hopper --tile-m 64" \
          "examples/patterns/sliding_window.mask --lq 5000 --heads 3 --set window=300 --kernel hopper --tile-m 64" \
          "bench/patterns/dilated_window.mask --set window=300 --set dilation=3 --lq 1000 --heads 2"; do
        # (A check takes seconds; CHECK_TIMEOUT bounds a hang.)
        timeout "${CHECK_TIMEOUT:-60}" "$M" run $args --check > /tmp/ab_check.log 2>&1
        rc=$?
        line=$(grep -E "^check|rror" /tmp/ab_check.log | tail -1)
        echo "  $(echo $args | cut -d' ' -f1 | xargs basename): ${line:0:110}"
        [[ "$line" == *PASS* ]] || status=1
        if [ "$rc" = 124 ]; then
          echo "  HUNG (no result in ${CHECK_TIMEOUT:-60} s): the variant is skipped from here on"
          HUNG["v$variant"]=1
          break
        fi
      done
    fi
    [ -n "${HUNG["v$variant"]:-}" ] && continue
    for tiles in 128 64; do
      timeout 120 "$M" run bench/patterns/dense.mask $S --bench --iters 3 --kernel hopper --tile-m $tiles |
        tail -1 | sed "s/^/dense ${tiles}x${tiles}: /"
    done
    for sets in random16 positional16 random8; do
      timeout 60 "$M" run $P $S --set keep=${sets//[a-z]/} --set block=64 --bench --iters 30 \
        --select sets=@/tmp/ab_$sets.json | tail -1 | sed "s/^/block top-k $sets: /"
    done
    timeout 60 "$M" run bench/patterns/dilated_window.mask --set window=4096 --set dilation=4 $S --bench \
      --iters 20 | tail -1 | sed 's/^/dilated window 4096\/4: /'
  done
done
exit $status
