#!/usr/bin/python3
"""Plots the hyperparameter-optimisation figures (Figs. 8, 9, 23 and 24).

Reads the CSVs written by //experiments:fig8_fmnist_telescoping and
//experiments:fig9_many_hparams (experiments/figure_io.h contract). A results
directory may hold several runs in sub-directories (e.g. one per seed, run as
separate processes): every matching CSV below it is read and their rows are
concatenated.

  fig8  <results>/**/fig8_fmnist_telescoping{,_grid}.csv
        -> <out>/fig8_fmnist_telescoping.png: (a) trajectories of theta =
        (log init LR, log LR decay) over the contours of the final-loss
        meta-objective (x: log LR decay, y: log init LR, as in the paper's
        Figs. 7-8), (b) meta-loss L_T over outer iterations.
  fig9  <results>/**/fig9_many_hparams.csv
        -> <out>/fig9_many_hparams.png: best meta-objective so far (sum of
        validation losses) against total compute (particle-steps), mean over
        seeds with min/max bands; right panel: the current meta-objective.
  fig23 / fig24  <results>/**/fig23_cifar_lr_momentum.csv /
        fig24_cifar_many_hparams.csv -> the same two panels for the CIFAR-10
        ResNet figures; the title says SYNTHETIC DATA when the run's
        <binary>_data.csv says --synthetic_data was used.

Run with Debian's Python, which has matplotlib (python3-matplotlib):

  /usr/bin/python3 tools/plot_hpo_figures.py --figure fig8 \
      --results results/fig8_fmnist_telescoping --out docs/figures/
  /usr/bin/python3 tools/plot_hpo_figures.py --figure fig9 \
      --results results/fig9_many_hparams --out docs/figures/
  /usr/bin/python3 tools/plot_hpo_figures.py --figure fig8 \
      --results results/fig8_fmnist_telescoping_n100 --suffix _n100
"""

import argparse
import collections
import csv
import glob
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

COLORS = {
    "es_single": "tab:red",
    "pes": "tab:blue",
    "tes": "tab:green",
    "tes_particle": "tab:olive",
    "full_es": "tab:gray",
    "random_search": "tab:purple",
}
LABELS = {
    "es_single": "ES-Single",
    "pes": "PES",
    "tes": "ES (truncated)",
    "tes_particle": "ES (truncated, per particle)",
    "full_es": "full-unroll ES",
    "random_search": "random search",
}


def read_rows(results, name):
    paths = sorted(glob.glob(os.path.join(results, "**", name), recursive=True))
    if not paths:
        sys.exit(f"no {name} below {results}")
    rows = []
    for p in paths:
        with open(p, newline="") as f:
            rows.extend(csv.DictReader(f))
    return rows, paths


def num(s):
    return float(s) if s not in ("nan", "inf", "-inf") else float(s)


def plot_fig8(results, out, suffix=""):
    rows, paths = read_rows(results, "fig8_fmnist_telescoping.csv")
    grid_rows, _ = read_rows(results, "fig8_fmnist_telescoping_grid.csv")
    runs = collections.OrderedDict()
    for r in rows:
        key = (r["method"], r["num_particles"], r["seed"])
        runs.setdefault(key, []).append(
            (int(r["iteration"]), num(r["meta_loss"]), num(r["theta_0"]),
             num(r["theta_1"])))
    # Grid (first file only, they are identical across seeds).
    pts = {}
    for r in grid_rows:
        pts[(num(r["theta_0"]), num(r["theta_1"]))] = num(r["meta_loss"])
    t0 = sorted({k[0] for k in pts})
    t1 = sorted({k[1] for k in pts})
    z = np.array([[pts.get((a, b), np.nan) for b in t1] for a in t0])
    finite = z[np.isfinite(z)]
    cap = float(np.percentile(finite, 90)) if finite.size else 1.0
    zc = np.where(np.isfinite(z), np.minimum(z, cap), cap)

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 5.2))
    cs = ax.contourf(t1, t0, zc, levels=20, cmap="viridis")  # darker = better
    fig.colorbar(cs, ax=ax, label=f"final training loss L_T (capped at {cap:.2f})")
    gi = np.unravel_index(np.nanargmin(np.where(np.isfinite(z), z, np.inf)), z.shape)
    ax.plot(t1[gi[1]], t0[gi[0]], "w*", ms=14, mec="k", label="grid minimum")
    first = True
    for (method, n, seed), pts_ in runs.items():
        pts_.sort()
        th0 = [p[2] for p in pts_]
        th1 = [p[3] for p in pts_]
        ax.plot(th1, th0, "-", color=COLORS.get(method, "k"), lw=1.6,
                alpha=0.9 if seed == "0" else 0.5,
                label=f"{LABELS.get(method, method)} N={n}" if seed == "0" else None)
        if first:
            ax.plot(th1[0], th0[0], "ko", ms=7, label="init")
            first = False
    ax.set_xlabel("Log LR Decay (theta_1)")
    ax.set_ylabel("Log Init LR (theta_0)")
    ax.set_title("(a) meta-optimisation with telescoping sums")
    ax.legend(loc="upper right", fontsize=8)

    by_method = collections.OrderedDict()
    for (method, n, seed), pts_ in runs.items():
        by_method.setdefault((method, n), []).append(sorted(pts_))
    for (method, n), curves in by_method.items():
        for i, c in enumerate(curves):
            bx.plot([p[0] for p in c], [p[1] for p in c], "-",
                    color=COLORS.get(method, "k"), lw=1.5, alpha=0.85,
                    label=f"{LABELS.get(method, method)} N={n}" if i == 0 else None)
    if finite.size:
        bx.axhline(float(np.min(finite)), color="k", ls=":", lw=1,
                   label="grid minimum")
    bx.set_xlabel("outer iteration")
    bx.set_ylabel("meta-loss L_T (evaluation inner problem)")
    bx.set_title("(b) meta-losses of ES, PES and ES-Single")
    bx.legend(fontsize=8)
    fig.tight_layout()
    path = os.path.join(out, f"fig8_fmnist_telescoping{suffix}.png")
    fig.savefig(path, dpi=110)
    print(f"wrote {path} from {', '.join(paths)}")


def data_label(results, binary):
    """" [SYNTHETIC DATA, not CIFAR-10]" when any run below `results` used
    --synthetic_data (its <binary>_data.csv says so), else ""."""
    paths = glob.glob(os.path.join(results, "**", binary + "_data.csv"),
                      recursive=True)
    for p in paths:
        with open(p, newline="") as f:
            if any(r["data"] == "synthetic" for r in csv.DictReader(f)):
                return " [SYNTHETIC DATA, not CIFAR-10]"
    return ""


def plot_fig9(results, out, suffix="", binary="fig9_many_hparams",
              title="Tuning 29 hyperparameters"):
    rows, paths = read_rows(results, binary + ".csv")
    runs = collections.OrderedDict()
    for r in rows:
        runs.setdefault((r["method"], r["seed"]), []).append(
            (int(r["particle_steps"]), num(r["meta_loss"]),
             num(r["best_meta_loss"])))
    methods = list(collections.OrderedDict.fromkeys(m for m, _ in runs))
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 5))
    for method in methods:
        curves = [sorted(v) for (m, _), v in runs.items() if m == method]
        xs = sorted({p[0] for c in curves for p in c})
        # Step function of each seed's best-so-far on the common x grid.
        best = []
        for c in curves:
            cx = np.array([p[0] for p in c])
            cy = np.array([p[2] for p in c])
            idx = np.searchsorted(cx, xs, side="right") - 1
            best.append(np.where(idx >= 0, cy[np.maximum(idx, 0)], np.nan))
        best = np.array(best)
        color = COLORS.get(method, "k")
        label = f"{LABELS.get(method, method)} ({len(curves)} seeds)"
        ax.plot(xs, np.nanmean(best, axis=0), color=color, lw=2, label=label)
        ax.fill_between(xs, np.nanmin(best, axis=0), np.nanmax(best, axis=0),
                        color=color, alpha=0.2)
        if method != "random_search":
            for i, c in enumerate(curves):
                bx.plot([p[0] for p in c], [p[1] for p in c], color=color,
                        lw=1.2, alpha=0.7, label=label if i == 0 else None)
    ax.set_xlabel("total compute (inner steps x particles)")
    ax.set_ylabel("best meta-objective so far (sum of validation losses)")
    ax.set_title(f"{title} (mean, min/max over seeds)"
                 f"{data_label(results, binary)}", fontsize=9)
    ax.legend(fontsize=8)
    bx.set_xlabel("total compute (inner steps x particles)")
    bx.set_ylabel("meta-objective at the current theta")
    bx.set_title("current meta-objective, every seed")
    bx.legend(fontsize=8)
    fig.tight_layout()
    path = os.path.join(out, f"{binary}{suffix}.png")
    fig.savefig(path, dpi=110)
    print(f"wrote {path} from {', '.join(paths)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--figure", choices=("fig8", "fig9", "fig23", "fig24"),
                    required=True)
    ap.add_argument("--results", default=None,
                    help="directory with the CSVs (searched recursively); "
                    "default results/<binary>")
    ap.add_argument("--out", default="docs/figures")
    ap.add_argument("--suffix", default="",
                    help="appended to the PNG name, e.g. _n100")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.figure == "fig8":
        plot_fig8(a.results or "results/fig8_fmnist_telescoping", a.out,
                  a.suffix)
    elif a.figure == "fig9":
        plot_fig9(a.results or "results/fig9_many_hparams", a.out, a.suffix)
    else:
        binary, title = {
            "fig23": ("fig23_cifar_lr_momentum",
                      "Fig. 23: ResNet SGDm LR and momentum"),
            "fig24": ("fig24_cifar_many_hparams",
                      "Fig. 24: 24 ResNet hyperparameters"),
        }[a.figure]
        plot_fig9(a.results or f"results/{binary}", a.out, a.suffix, binary,
                  title)


if __name__ == "__main__":
    main()
