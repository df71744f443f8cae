#!/usr/bin/env bash
# Compiles each example pattern (dynamic ones take their sets at launch) to PTX with maskc (NVRTC) and
# assembles it with ptxas; prints a summary line and fails on any spill
# or serialized wgmma.
set -euo pipefail
maskc=$1 patterns=$2 work=$3
rm -rf "$work" && mkdir -p "$work"
ptxas=$(command -v ptxas || echo /usr/local/cuda/bin/ptxas)
n=0 spills=0
# Kernels by name: a pattern file (in $patterns, or a path) and its --set
# arguments. The dilated ones run per class of positions (tiles loaded by
# index).
bench=$(cd "$(dirname "$0")/../../../../bench/patterns" && pwd)
declare -A files=(
  [neighborhood_dilated]="$patterns/neighborhood_2d.mask"
  [dilated_window]="$bench/dilated_window.mask"
  [block_topk_pairs]="$patterns/block_topk.mask"
  [video3d]="$bench/video3d.mask"
  [natten_exact]="$bench/natten_exact.mask"
  [s2_shards]="$bench/s2_shards.mask"
  [moa_width]="$bench/moa_width.mask"
  [image_spans]="$bench/image_spans.mask"
  [minmax]="$(dirname "$0")/minmax.mask"
  [per_head_index]="$(dirname "$0")/per_head_index.mask --pattern per_head"
)
declare -A sets=(
  [causal]=""
  [sliding_window]=""
  [a_shape]=""
  [strided]=""
  [document]=""
  [neighborhood_2d]="--set width=64"
  [vertical_slash]=""
  [mixed]=""
  [block_topk]=""
  [neighborhood_dilated]="--set width=64 --set dilation=2"
  [dilated_window]=""
  [block_topk_pairs]="--tile-m 128 --tile-n 64"
  [video3d]=""
  [natten_exact]=""
  [s2_shards]=""
  [moa_width]=""
  [image_spans]=""
  [minmax]=""
  [per_head_index]=""
)
for p in "${!sets[@]}"; do
  for arch in sm_80 sm_90a; do
    for d in 64 128; do
      for t in bf16 fp16; do
        # The forward kernel, then the backward kernels of its schedule.
        for pass in forward backward; do
          out="$work/$p.$arch.$d.$t.$pass"
          flag=""
          [ "$pass" = backward ] && flag=--backward
          # shellcheck disable=SC2086
          "$maskc" compile ${files[$p]:-$patterns/$p.mask} ${sets[$p]} --arch "$arch" --head-dim "$d" \
            --dtype "$t" $flag --emit ptx -o "$out.ptx"
          info=$("$ptxas" -arch="$arch" -v "$out.ptx" -o "$out.cubin" 2>&1)
          n=$((n + 1))
          # ptxas serialized the wgmma instructions (C7514, C7520, ...: a slow
          # kernel, about a quarter slower). (Every function of the module
          # must be free of spills.)
          if grep -E "bytes spill (stores|loads)" <<<"$info" | grep -qv " 0 bytes spill stores, 0 bytes spill loads" ||
            grep -qi "serialized" <<<"$info"; then
            spills=$((spills + 1))
            echo "SPILL: $p $arch d=$d $t $pass" >&2
            echo "$info" >&2
          fi
        done
      done
    done
  done
done
echo "assembled $n kernels, $spills with spills"
[ "$spills" -eq 0 ]
