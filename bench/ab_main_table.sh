#!/usr/bin/env bash
# Two maskc builds on the main table's cases, interleaved in one run (B=1,
# H=32, D=128, bf16): the median of each, and new / old. For refactors that
# must not change kernel time (the bar: within 2%).
# Usage (GPU machine): bench/ab_main_table.sh OLD_MASKC NEW_MASKC [sizes]
set -u
OLD=$1 NEW=$2
SIZES=${3:-"16384 32768"}
P=examples/patterns
tmp=$(mktemp -d)
echo "| case | S | old ms | new ms | new / old |"
echo "|---|---|---|---|---|"
for s in $SIZES; do
  python3 -c "print(','.join(str(i // ($s // 16)) for i in range($s)))" > "$tmp/doc.txt"
  common="--lq $s --batch 1 --heads 32 --head-dim 128 --bench --iters ${ITERS:-30}"
  while read -r name file sets; do
    for bin in old new; do
      m=$OLD; [ $bin = new ] && m=$NEW
      # shellcheck disable=SC2086
      "$m" run "$file" $common $sets --json "$tmp/$bin.json" < /dev/null > /dev/null || echo "$bin $name failed" >&2
    done
    python3 - "$tmp" "$name" "$s" <<'PY'
import json, sys
d, name, s = sys.argv[1:]
o = json.load(open(f"{d}/old.json"))["bench"]["median_ms"]
n = json.load(open(f"{d}/new.json"))["bench"]["median_ms"]
print(f"| {name} | {s} | {o:.3f} | {n:.3f} | {n / o:.3f} |", flush=True)
PY
  done <<CASES
dense bench/patterns/dense.mask
causal $P/causal.mask
sliding_window $P/sliding_window.mask --set window=4096
a_shape $P/a_shape.mask --set sink=128 --set window=2048
strided $P/strided.mask --set stride=128 --set local=1024
document $P/document.mask --set doc=@$tmp/doc.txt
block_topk $P/block_topk.mask
vertical_slash $P/vertical_slash.mask
CASES
done
rm -rf "$tmp"
