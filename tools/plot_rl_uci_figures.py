#!/usr/bin/python3
"""Plots Fig. 14 (UCI Yacht L2 coefficient) and Fig. 22 (Swimmer).

Reads the CSVs written by //experiments:fig14_uci_yacht and
//experiments:fig22_swimmer (experiments/figure_io.h contract):

  fig14  <results>/fig14_uci_yacht{,_val}.csv and .json
         -> <out>/fig14_uci_yacht<suffix>.png: (a) theta = log L2
         coefficient over outer iterations for every method, initial theta
         and seed, with the grid-search optimum dashed; (b) the validation
         loss of the mean state (log scale, clipped to the PES plot's
         14-15 band on a second panel).
  fig22  <results>/fig22_swimmer_return.csv
         -> <out>/fig22_swimmer<suffix>.png: episode return over outer
         iterations, mean over seeds with a +-1 std band per method.

Run with Debian's Python, which has matplotlib (python3-matplotlib):

  /usr/bin/python3 tools/plot_rl_uci_figures.py --figure fig14 \
      --results results/fig14_uci_yacht/paper_seeds012 --out docs/figures/
  /usr/bin/python3 tools/plot_rl_uci_figures.py --figure fig22 \
      --results results/fig22_swimmer/scaled --out docs/figures/ --suffix _scaled
"""

import argparse
import collections
import csv
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {"es_single": "tab:red", "pes": "tab:blue", "tes": "tab:green"}
LABELS = {"es_single": "ES-Single", "pes": "PES", "tes": "truncated ES"}


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def base_method(name):
    return name.rsplit("_init", 1)[0]


def fig14(base, out, suffix):
    trace = read_csv(os.path.join(base, "fig14_uci_yacht.csv"))
    val = read_csv(os.path.join(base, "fig14_uci_yacht_val.csv"))
    with open(os.path.join(base, "fig14_uci_yacht.json")) as f:
        settings = json.load(f)["settings"]
    opt = settings["grid_optimal_theta"]
    runs = collections.defaultdict(list)
    for r in trace:
        runs[(r["method"], r["seed"])].append(
            (int(r["iteration"]), float(r["theta_0"])))
    vruns = collections.defaultdict(list)
    for r in val:
        vruns[(r["method"], r["seed"])].append(
            (int(r["iteration"]), float(r["val_loss"])))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    seen = set()
    for (method, _), pts in sorted(runs.items()):
        m = base_method(method)
        lbl = LABELS.get(m, m) if m not in seen else None
        seen.add(m)
        axes[0].plot([p[0] for p in pts], [p[1] for p in pts],
                     color=COLORS.get(m, "k"), lw=0.8, alpha=0.7, label=lbl)
    axes[0].axhline(opt, color="k", ls="--", lw=1.2,
                    label="grid optimum %.2f" % opt)
    axes[0].set_xlabel("outer iteration")
    axes[0].set_ylabel("theta = log L2 coefficient")
    axes[0].set_title("(a) meta-optimisation trajectories")
    axes[0].legend(fontsize=8)
    for (method, _), pts in sorted(vruns.items()):
        m = base_method(method)
        axes[1].plot([p[0] for p in pts], [p[1] for p in pts],
                     color=COLORS.get(m, "k"), lw=0.8, alpha=0.7)
    axes[1].axhline(settings["grid_optimal_val_loss"], color="k", ls="--",
                    lw=1.2)
    axes[1].set_ylim(14.0, 15.0)
    axes[1].set_xlabel("outer iteration")
    axes[1].set_ylabel("validation loss of the mean state")
    axes[1].set_title("(b) validation loss (PES plot's 14-15 band)")
    fig.suptitle("Fig. 14: global L2 coefficient, UCI Yacht (%s)" % base)
    fig.tight_layout()
    path = os.path.join(out, "fig14_uci_yacht%s.png" % suffix)
    fig.savefig(path, dpi=120)
    print("wrote", path)


def fig22(base, out, suffix):
    rows = read_csv(os.path.join(base, "fig22_swimmer_return.csv"))
    by = collections.defaultdict(list)
    for r in rows:
        by[r["method"]].append((int(r["iteration"]), float(r["return_mean"]),
                                float(r["return_std"])))
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for m, pts in by.items():
        x = [p[0] for p in pts]
        mu = [p[1] for p in pts]
        sd = [p[2] for p in pts]
        c = COLORS.get(m, "k")
        ax.plot(x, mu, color=c, label=LABELS.get(m, m))
        ax.fill_between(x, [a - b for a, b in zip(mu, sd)],
                        [a + b for a, b in zip(mu, sd)], color=c, alpha=0.2)
    ax.set_xlabel("outer iteration (K = 100, T = 1000)")
    ax.set_ylabel("episode return (mean +- std over seeds)")
    ax.set_title("Fig. 22: Swimmer, linear policy (%s)" % base)
    ax.legend()
    fig.tight_layout()
    path = os.path.join(out, "fig22_swimmer%s.png" % suffix)
    fig.savefig(path, dpi=120)
    print("wrote", path)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--figure", required=True, choices=("fig14", "fig22"))
    p.add_argument("--results", required=True,
                   help="directory holding the binary's CSVs")
    p.add_argument("--out", default="docs/figures/")
    p.add_argument("--suffix", default="")
    a = p.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    {"fig14": fig14, "fig22": fig22}[a.figure](a.results, a.out, a.suffix)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
