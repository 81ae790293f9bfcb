#!/usr/bin/env bash
# Measures one process x 1 thread, one process x 2 threads and 2 MPI ranks x
# 1 thread on this machine (docs/scaling.md): time per estimate and bytes exchanged per
# estimate, for ES-Single on toy 2D (Fig. 15's problem), on the Fig. 9 MLP
# (784-100x5-10, batch 100, K = 10) at N = 10 and N = 100, and for ES-Single
# and PES on the paper-size copy task (P = 42.8k, N = 1000, K = 1). Each case is
# run `REPEATS` times, alternating the layouts; outputs (one sidecar per
# run and a summary CSV) go to results/scaling/measured/, and
# tools/scaling_model.py turns them into the tables of docs/scaling.md.
# Needs mpirun (openmpi-bin), FashionMNIST (tools/setup.sh) and MNIST
# ($ES_SINGLE_DATA_DIR/mnist).
#
#   tools/scaling_measure.sh            # REPEATS=2
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS=${REPEATS:-2}
OUT=results/scaling/measured
bazel build //estimators:estimator_benchmark \
  //experiments:fig15_toy2d_mpi //experiments:fig9_many_hparams_mpi \
  //experiments:fig7_mnist_lr_schedule_mpi \
  //experiments:fig10_copy_task_mpi
B=bazel-bin/experiments
MPIRUN=(mpirun -np 2 --oversubscribe)
if [[ "$(id -u)" == "0" ]]; then MPIRUN+=(--allow-run-as-root); fi
export OMP_NUM_THREADS=1 TMPDIR=/tmp
rm -rf "$OUT/runs"
mkdir -p "$OUT/runs"

# case name, binary, flags
CASES=(
  "toy2d_n100|fig15_toy2d_mpi|--methods=es_single --num_particles=100 --iterations=4000 --eval_every=4000 --grid_size=2 --seeds=0"
  "mlp_fig9_n10|fig9_many_hparams_mpi|--methods=es_single --num_particles=10 --iterations=40 --eval_every=40 --seeds=0"
  "mlp_fig9_n100|fig9_many_hparams_mpi|--methods=es_single --num_particles=100 --iterations=10 --eval_every=10 --seeds=0"
  "mlp_fig7_n100|fig7_mnist_lr_schedule_mpi|--methods=es_single --num_particles=100 --iterations=10 --eval_every=10 --grid_size=0 --seeds=0"
  "copy_task_paper|fig10_copy_task_mpi|--methods=es_single,pes --seeds=0 --tokens=320"
)

summary="$OUT/scaling.csv"
echo "case,method,layout,repeat,ranks,threads_per_rank,seconds_per_estimate,estimates,bytes_sent_by_rank_0_per_estimate" > "$summary.tmp"
for c in "${CASES[@]}"; do
  IFS='|' read -r name binary flags <<< "$c"
  for rep in $(seq 1 "$REPEATS"); do
    for layout in 1x1 1x2 2x1; do
      dir="$OUT/runs/${name}_${layout}_r${rep}"
      # shellcheck disable=SC2086
      if [[ "$layout" == 1x* ]]; then
        "$B/$binary" --progress=false --threads="${layout#1x}" --out_dir="$dir" $flags > /dev/null
      else
        "${MPIRUN[@]}" "$B/$binary" --progress=false --threads=1 --out_dir="$dir" $flags > /dev/null
      fi
      python3 - "$dir" "$name" "$layout" "$rep" >> "$summary.tmp" <<'EOF'
import glob, json, sys
d, name, layout, rep = sys.argv[1:]
j = json.load(open(glob.glob(d + "/*.json")[0]))
p = j["processes"]
total = sum(r["iterations"] for r in j["runs"])
for run in j["runs"]:
    print(f'{name},{run["method"]},{layout},{rep},{p["ranks"]},'
          f'{p["threads_per_rank"]},{run["seconds_per_estimate"]:.6g},'
          f'{run["iterations"]},{p["bytes_sent_by_rank_0"] / total:.6g}')
EOF
      rm -f "$dir"/*.csv  # the traces are not what is measured here
      echo "scaling: $name $layout repeat $rep done"
    done
  done
done
mv "$summary.tmp" "$summary"
# S of the cost model: what every rank repeats however many ranks there are.
bazel-bin/estimators/estimator_benchmark --benchmark_filter=RankOverhead \
  --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  --benchmark_format=csv > "$OUT/rank_overhead.csv.tmp"
mv "$OUT/rank_overhead.csv.tmp" "$OUT/rank_overhead.csv"
echo "scaling: wrote $summary"
python3 tools/scaling_model.py "$OUT"
