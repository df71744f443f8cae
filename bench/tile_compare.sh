for t in 64 128; do
  for p in bench/patterns/dense.mask examples/patterns/causal.mask; do
    .gpu/maskc run $p --lq 16384 --heads 32 --head-dim 128 --bench --iters 10 --tile-m $t | tail -1 | sed "s|^|tile $t $(basename $p): |"
  done
  .gpu/maskc run examples/patterns/sliding_window.mask --lq 16384 --heads 32 --bench --iters 10 --tile-m $t --set window=4096 | tail -1 | sed "s|^|tile $t sw: |"
  .gpu/maskc run examples/patterns/a_shape.mask --lq 1000 --batch 2 --heads 8 --kv-heads 2 --head-dim 64 --check --tile-m $t | tail -1 | cut -c1-120
done
