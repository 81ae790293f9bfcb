#!/bin/bash
# Per-step CPU cost at the paper's widths, 32x32 synthetic images, one thread.
cd "$(dirname "$0")/../../.."  # the workspace root
export OMP_NUM_THREADS=1
B=bazel-bin/experiments/fig23_cifar_lr_momentum
common="--synthetic_data --methods=es_single --seeds=0 --num_particles=10 --truncation=2 --horizon=5000 --eval_every=1000 --progress=true"
for it in 1 3; do
  echo "== iterations=$it eval_length=1"
  /usr/bin/time -f "TIME iterations=$it wall %e user %U sys %S maxrss_kb %M" $B $common --iterations=$it --eval_length=1 --out_dir=/tmp/cifar/timing_$it 2>&1 | grep -v "^\[" 
done
for el in 1 6; do
  echo "== iterations=0 eval_length=$el"
  /usr/bin/time -f "TIME eval_length=$el wall %e user %U sys %S" $B $common --iterations=0 --eval_length=$el --out_dir=/tmp/cifar/timing_e$el 2>&1 | grep -v "^\["
done
uptime
