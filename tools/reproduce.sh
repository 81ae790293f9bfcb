#!/usr/bin/env bash
# Redo the paper on your own hardware: runs every figure binary at one preset
# into results/<binary>/<preset>/, then recomputes the scoreboard tables
# (tools/scoreboard.py), draws each run's figure next to it
# (results/<binary>/<preset>/*.png) and redraws every committed figure in
# docs/figures/ whose data the runs changed (tools/scoreboard.py --figures;
# matplotlib from Debian's python3-matplotlib).
#
#   bash tools/reproduce.sh --preset quick     # seconds per figure (a smoke run)
#   bash tools/reproduce.sh --preset scaled    # minutes to hours per figure
#   bash tools/reproduce.sh --preset paper     # the paper's settings: days in all on 2 cores
#   bash tools/reproduce.sh --preset scaled fig5_influence fig15_toy2d   # a subset
#
# Before starting it prints each figure's estimated wall time, taken from the
# committed run of the same preset when there is one (results/<binary>/<preset>/
# <binary>.json, "wall_seconds", on the 2-core development machine), and the
# data each needs. CIFAR-10 (Figs. 23, 24) must be fetched first
# (tools/fetch_cifar10.sh); MNIST, PTB, Yacht and the Swimmer model are read
# from $ES_SINGLE_DATA_DIR. Each binary prints its own progress; a failed
# figure is reported and the others still run. Exit status: the number of
# failed figures (0 = all done).
set -uo pipefail
cd "$(dirname "$0")/.."
preset=""
figures=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --preset) preset="$2"; shift 2 ;;
    --preset=*) preset="${1#--preset=}"; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) figures+=("$1"); shift ;;
  esac
done
case "$preset" in
  quick|scaled|paper) ;;
  *) echo "reproduce.sh: --preset must be quick, scaled or paper, got '${preset}'"; exit 2 ;;
esac
all=(fig1_lstm_variance fig5_influence fig7_mnist_lr_schedule fig8_fmnist_telescoping
     fig9_many_hparams fig10_copy_task fig11_learned_optimizer fig14_uci_yacht fig15_toy2d
     fig17_18_mnist_k1 fig19_meta_gradients fig21_lopt_sigma fig22_swimmer
     fig23_cifar_lr_momentum fig24_cifar_many_hparams fig25_dodge fig26_gdtuo)
[[ ${#figures[@]} -eq 0 ]] && figures=("${all[@]}")
for f in "${figures[@]}"; do
  [[ " ${all[*]} " == *" $f "* ]] || { echo "reproduce.sh: unknown figure '$f' (allowed: ${all[*]})"; exit 2; }
done

echo "== estimated cost (preset $preset; from committed runs on the 2-core development machine)"
total=0
for f in "${figures[@]}"; do
  sc="results/$f/$preset/$f.json"
  if [[ -f "$sc" ]]; then
    secs=$(/usr/bin/python3 -c "import json,sys; print('%.0f' % json.load(open(sys.argv[1]))['wall_seconds'])" "$sc")
    total=$((total + secs))
    est="${secs} s"
  elif [[ "$preset" == quick ]]; then
    est="seconds"
  else
    est="unknown (no committed $preset run; docs/results.md gives the measured per-estimate cost)"
  fi
  printf "  %-26s %s\n" "$f" "$est"
done
echo "  total of the known estimates: ${total} s (about $(( (total + 59) / 60 )) min)"

echo "== building"
bazel build $(printf -- "//experiments:%s " "${figures[@]}") || exit 1
failed=0
start=$(date +%s)
i=0
for f in "${figures[@]}"; do
  i=$((i + 1))
  out="results/$f/$preset"
  echo "== [$i/${#figures[@]}] $f --preset=$preset -> $out/ ($(date -u +%H:%M:%S) UTC, $(( $(date +%s) - start )) s elapsed)"
  "bazel-bin/experiments/$f" --preset="$preset" --out_dir="$out"
  rc=$?
  if [[ $rc -ne 0 ]]; then
    echo "!! $f exited with $rc (1: error, 3: a run diverged; see above)"
    failed=$((failed + 1))
  fi
done

echo "== scoreboard tables (docs/results.md, README.md)"
/usr/bin/python3 tools/scoreboard.py || failed=$((failed + 1))
echo "== figures of this run"
for f in "${figures[@]}"; do
  if [[ -f "results/$f/$preset/$f.json" ]]; then
    /usr/bin/python3 tools/scoreboard.py --draw_run "$f/$preset" || failed=$((failed + 1))
  fi
done
echo "== committed figures whose data changed (docs/figures/)"
/usr/bin/python3 tools/scoreboard.py --figures || failed=$((failed + 1))
echo "== done: ${#figures[@]} figure(s), $failed failed"
exit "$failed"
