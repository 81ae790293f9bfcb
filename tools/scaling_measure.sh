#!/usr/bin/env bash
# Measures one process x 2 threads against 2 MPI ranks x 1 thread on this
# machine (docs/scaling.md): time per estimate and bytes exchanged per
# estimate, for ES-Single on toy 2D (Fig. 15's problem), on the Fig. 9 MLP
# (784-100x5-10, batch 100, K = 10) at N = 10 and N = 100, and for ES-Single
# and PES on the paper-size copy task (P = 42.8k, N = 1000, K = 1). Each case is
# run `REPEATS` times, alternating the two layouts; outputs (one sidecar per
# run and a summary CSV) go to results/scaling/. Needs mpirun (openmpi-bin)
# and, for Fig. 9, FashionMNIST (tools/setup.sh).
#
#   tools/scaling_measure.sh            # REPEATS=3
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS=${REPEATS:-3}
OUT=results/scaling
bazel build //experiments:fig15_toy2d_mpi //experiments:fig9_many_hparams_mpi \
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
  "copy_task_paper|fig10_copy_task_mpi|--methods=es_single,pes --seeds=0 --tokens=320"
)

summary="$OUT/scaling.csv"
echo "case,method,layout,repeat,ranks,threads_per_rank,seconds_per_estimate,estimates,bytes_sent_by_rank_0_per_estimate" > "$summary.tmp"
for c in "${CASES[@]}"; do
  IFS='|' read -r name binary flags <<< "$c"
  for rep in $(seq 1 "$REPEATS"); do
    for layout in 1x2 2x1; do
      dir="$OUT/runs/${name}_${layout}_r${rep}"
      # shellcheck disable=SC2086
      if [[ "$layout" == 1x2 ]]; then
        "$B/$binary" --progress=false --threads=2 --out_dir="$dir" $flags > /dev/null
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
echo "scaling: wrote $summary"
python3 - "$summary" <<'EOF'
import csv, sys, statistics
rows = list(csv.DictReader(open(sys.argv[1])))
print("| case | method | 1 rank x 2 threads | 2 ranks x 1 thread | speed-up | bytes sent by rank 0 / estimate |")
print("|---|---|---|---|---|---|")
for key in dict.fromkeys((r["case"], r["method"]) for r in rows):
    sel = [r for r in rows if (r["case"], r["method"]) == key]
    t = {l: statistics.median(float(r["seconds_per_estimate"]) for r in sel
                              if r["layout"] == l)
         for l in ("1x2", "2x1")}
    b = [r["bytes_sent_by_rank_0_per_estimate"] for r in sel
         if r["layout"] == "2x1"][0]
    print(f'| {key[0]} | {key[1]} | {t["1x2"]*1e3:.3f} ms | {t["2x1"]*1e3:.3f} ms | '
          f'{t["1x2"]/t["2x1"]:.2f} | {float(b):.0f} |')
EOF
