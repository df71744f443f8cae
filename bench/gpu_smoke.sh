#!/usr/bin/env bash
# Quick GPU correctness smoke test (run on the device machine from the repo root).
set -u
M=${MASKC:-.gpu/maskc}
P=examples/patterns
nvidia-smi -L
for d in 64 128; do
  $M run $P/causal.mask --lq 300 --lk 1000 --batch 2 --heads 8 --kv-heads 2 --head-dim $d --check
  $M run $P/sliding_window.mask --lq 1000 --batch 2 --heads 8 --kv-heads 2 --head-dim $d --set window=100 --check
done
