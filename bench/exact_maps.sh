#!/usr/bin/env bash
# Exact tile maps on the GPU, one device command: the masks the closed forms
# cannot read are checked against the CPU reference (four kernels, Lq != Lk
# included), then timed at B=1, H=32, D=128, bf16, S in SIZES (default
# 16384 32768) beside FlexAttention in the same run; the host's map build
# time (maskjit_schedule_bench) beside create_block_mask's, 16k to 128k.
# Usage (repo root, on the GPU machine): bench/exact_maps.sh [maskc]
set -u
M=${1:-.gpu/maskc}
OUTDIR=/tmp/maskjit-exact
rm -rf "$OUTDIR" && mkdir -p "$OUTDIR"
BP=bench/patterns
SIZES=${SIZES:-"16384 32768"}
fail=0 total=0
check() {
  total=$((total + 1))
  if timeout "${RUN_TIMEOUT:-120}" "$M" run "$@" --check > /tmp/check.log 2>&1; then
    grep -E "^(check|compile)" /tmp/check.log | sed "s|^|$(basename "$1") ${*:2} : |" | cut -c1-240
  else
    fail=$((fail + 1))
    echo "FAIL: $*"
    tail -8 /tmp/check.log
  fi
}
python3 -c "print(','.join(str(1 + (i // 300) if (i // 150) % 3 == 1 else 0) for i in range(3000)))" > /tmp/img.txt
for kern in "--kernel auto" "--kernel portable" "--kernel hopper --tile-m 64" \
  "--kernel hopper --tile-m 128 --tile-n 64"; do
  common="$kern --batch 2 --heads 8 --kv-heads 2 --head-dim 128"
  check $BP/video3d.mask $common --lq 2048 --set width=16 --set height=8 --set radius=2
  check $BP/video3d.mask $common --lq 1000 --lk 1500 --set width=8 --set height=8 --set radius=1
  check $BP/natten_exact.mask $common --lq 2304 --set width=48 --set height=48 --set window=7
  check $BP/s2_shards.mask $common --lq 2000 --set local=256
  check $BP/s2_shards.mask $common --lq 700 --lk 1800 --set local=100 --set shards=4
  check $BP/moa_width.mask $common --lq 2500 --set alpha=100 --set beta=50
  check $BP/image_spans.mask $common --lq 3000 --set img=@/tmp/img.txt
done
echo "checks: $((total - fail)) of $total passed"

# PARTIAL tiles by their bits (the default: mj_*.json, which report.py
# reads), then by the predicate per element (MASKJIT_TILE_BITS=0:
# pred_*.json), in the same run.
for tb in 1 0; do
  prefix=$([ "$tb" = 1 ] && echo mj || echo pred)
  for s in $SIZES; do
    common="--lq $s --batch 1 --heads 32 --head-dim 128 --bench --iters ${ITERS:-20}"
    for c in video3d natten_exact s2_shards; do
      extra=$([ "$c" = natten_exact ] && echo "--set height=$((s / 128))")
      echo "== $c, S=$s, tile bits $tb"
      MASKJIT_TILE_BITS=$tb $M run $BP/$c.mask $common $extra \
        --json "$OUTDIR/${prefix}_${c}_$s.json" | grep -E "^(schedule|bench|compile)"
    done
  done
done
# PEERS=FILE: FlexAttention's rows from an earlier call on the same warm
# machine (its compiles can outlast one call); otherwise measured here.
if [ -n "${PEERS:-}" ]; then
  cp "$PEERS" "$OUTDIR/peers.jsonl"
else
  python3 bench/exact_maps_peers.py "$(echo $SIZES | tr ' ' ','),131072" > "$OUTDIR/peers.jsonl" 2> "$OUTDIR/peers.err"
  tail -3 "$OUTDIR/peers.err"
fi
cat "$OUTDIR/peers.jsonl"
python3 bench/report.py "$OUTDIR" | tee "$OUTDIR/results.md"
if [ -x .gpu/maskjit_schedule_bench ]; then
  MASKJIT_BENCH_PATTERNS=$PWD/bench/patterns .gpu/maskjit_schedule_bench \
    --benchmark_filter=Exact 2>&1 | tee "$OUTDIR/map_build.txt" | grep -E "^BM_|^Run on|CPU"
fi
if [ -n "${OUT:-}" ]; then
  cp "$OUTDIR"/* "$OUT"/ 2>/dev/null
fi
[ "$fail" -eq 0 ]
