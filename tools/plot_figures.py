#!/usr/bin/python3
"""Turns the figure binaries' CSV output into PNG figures.

Reads the tidy CSVs written by the experiments/ binaries (see
experiments/figure_io.h for the contract) and writes one PNG per figure:

  fig5_influence  <results>/fig5_influence/fig5_influence.csv
                  -> <out>/fig5_influence.png: theta and meta-loss over
                  iterations; (a) methods at the Fig. 5a N, (b) ES-Single and
                  PES across N.
  fig15_toy2d     <results>/fig15_toy2d/fig15_toy2d{,_grid}.csv
                  -> <out>/fig15_toy2d.png: meta-loss heatmap with the
                  meta-optimisation trajectories overlaid, and meta-loss curves.

Run with Debian's Python, which has matplotlib (python3-matplotlib):

  /usr/bin/python3 tools/plot_figures.py --figure fig5_influence \
      --results results/ --out docs/figures/
  /usr/bin/python3 tools/plot_figures.py --figure all
"""

import argparse
import collections
import csv
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

FIGURES = ("fig5_influence", "fig15_toy2d")
COLORS = {
    "es_single": "tab:red",
    "pes": "tab:blue",
    "tes": "tab:green",
    "tes_particle": "tab:olive",
    "full_es": "tab:gray",
    "tbptt_k1": "tab:purple",
    "tbptt_k10": "tab:pink",
    "tbptt_k100": "tab:brown",
    "rtrl": "tab:orange",
    "uoro": "tab:cyan",
}
LABELS = {
    "es_single": "ES-Single",
    "pes": "PES",
    "tes": "Truncated ES",
    "tes_particle": "Truncated ES (per particle)",
    "full_es": "Full ES",
    "tbptt_k1": "TBPTT K=1",
    "tbptt_k10": "TBPTT K=10",
    "tbptt_k100": "TBPTT K=100",
    "rtrl": "RTRL",
    "uoro": "UORO",
}


def read_trace(path):
    """Returns {(method, N): {seed: dict of numpy arrays}} in file order."""
    runs = collections.OrderedDict()
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        theta_cols = [c for c in reader.fieldnames if c.startswith("theta_")]
        for row in reader:
            key = (row["method"], int(row["num_particles"]))
            seed = int(row["seed"])
            run = runs.setdefault(key, collections.OrderedDict()).setdefault(
                seed, {"iteration": [], "meta_loss": [],
                       **{c: [] for c in theta_cols}})
            run["iteration"].append(int(row["iteration"]))
            run["meta_loss"].append(float(row["meta_loss"]))
            for c in theta_cols:
                run[c].append(float(row[c]))
    for seeds in runs.values():
        for run in seeds.values():
            for k in run:
                run[k] = np.asarray(run[k])
    return runs


def read_json(path):
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        return json.load(f)


def color(method, index=0):
    return COLORS.get(method, "C%d" % (index % 10))


def label(method):
    return LABELS.get(method, method)


def plot_runs(ax, seeds, column, c, lbl, clip=None):
    """Thin line per seed, thick mean over seeds."""
    arrays = []
    for run in seeds.values():
        y = run[column]
        if clip is not None:
            y = np.clip(y, *clip)
        ax.plot(run["iteration"], y, color=c, alpha=0.25, lw=0.8)
        arrays.append((run["iteration"], run[column]))
    its = arrays[0][0]
    if all(len(a[0]) == len(its) and np.array_equal(a[0], its) for a in arrays):
        mean = np.mean([a[1] for a in arrays], axis=0)
        if clip is not None:
            mean = np.clip(mean, *clip)
        ax.plot(its, mean, color=c, lw=2.0,
                label="%s (%d seeds)" % (lbl, len(arrays)))


def fig5(base, out, suffix=""):
    runs = read_trace(os.path.join(base, "fig5_influence.csv"))
    meta = read_json(os.path.join(base, "fig5_influence.json"))
    settings = meta.get("settings", {})
    n_main = int(settings.get("num_particles_5a", 1000))
    theta_star = float(settings.get("theta_long_run_optimum", -1.0 / 6.0))
    flags = meta.get("flags", {})
    ablation = [m for m in flags.get("ablation_methods", "es_single,pes").split(",") if m]

    fig, axes = plt.subplots(2, 2, figsize=(13, 8.5), sharex="col")
    theta_clip = (-1.0, 2.0)
    # (a) every method at the 5a N.
    for i, ((m, n), seeds) in enumerate(runs.items()):
        if n != n_main and n != 0:
            continue
        c = color(m, i)
        lbl = label(m) if n == 0 else "%s N=%d" % (label(m), n)
        plot_runs(axes[0][0], seeds, "theta_0", c, lbl, clip=theta_clip)
        plot_runs(axes[1][0], seeds, "meta_loss", c, lbl)
    # (b) ablation methods across N: colour per method, shade per N.
    for m in ablation:
        ns = sorted(n for (mm, n) in runs if mm == m)
        cmap = plt.get_cmap("Reds" if m == "es_single" else "Blues")
        for j, n in enumerate(ns):
            c = cmap(0.35 + 0.65 * (j + 1) / len(ns))
            lbl = "%s N=%d" % (label(m), n)
            plot_runs(axes[0][1], runs[(m, n)], "theta_0", c, lbl, clip=theta_clip)
            plot_runs(axes[1][1], runs[(m, n)], "meta_loss", c, lbl)
    for ax in axes[0]:
        ax.axhline(theta_star, color="k", ls="--", lw=1, label="theta* = -1/6")
        ax.set_ylim(*theta_clip)
        ax.set_ylabel("theta (clipped to [%g, %g])" % theta_clip)
    for ax in axes[1]:
        ax.set_yscale("log")
        ax.set_xlabel("outer iteration")
        ax.set_ylabel("meta-loss (sum of %s-step losses)"
                      % settings.get("eval_length", "?"))
    axes[0][0].set_title("(a) influence balancing, K=1, N=%d" % n_main)
    axes[0][1].set_title("(b) ablation over N (PES and ES-Single)")
    for ax in axes.flat:
        ax.legend(fontsize=7, loc="best")
        ax.grid(alpha=0.3)
    seeds = meta.get("seeds", [])
    fig.suptitle("Fig. 5 reproduction: %s iterations, seeds %s, %s lr %s, "
                 "sigma %s, commit %s"
                 % (settings.get("iterations", "?"), meta.get("seeds", []),
                    flags.get("optimizer", "?"), flags.get("learning_rate", "?"),
                    flags.get("sigma", "?"),
                    str(meta.get("git_commit", "?"))[:10]), fontsize=10)
    fig.tight_layout()
    path = os.path.join(out, "fig5_influence%s.png" % suffix)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def fig15(base, out, suffix=""):
    runs = read_trace(os.path.join(base, "fig15_toy2d.csv"))
    meta = read_json(os.path.join(base, "fig15_toy2d.json"))
    settings = meta.get("settings", {})
    grid_path = os.path.join(base, "fig15_toy2d_grid.csv")

    fig, (ax_map, ax_curve) = plt.subplots(1, 2, figsize=(14, 6))
    if os.path.exists(grid_path):
        t0, t1, loss = [], [], []
        with open(grid_path, newline="") as f:
            for row in csv.DictReader(f):
                t0.append(float(row["theta_0"]))
                t1.append(float(row["theta_1"]))
                loss.append(float(row["meta_loss"]))
        a0, a1 = np.unique(t0), np.unique(t1)
        z = np.full((len(a0), len(a1)), np.nan)
        i0 = {v: i for i, v in enumerate(a0)}
        i1 = {v: i for i, v in enumerate(a1)}
        for x, y, l in zip(t0, t1, loss):
            z[i0[x], i1[y]] = l if math.isfinite(l) else np.nan
        # Darker = lower meta-loss (as in the paper's heatmap).
        mesh = ax_map.pcolormesh(a0, a1, z.T, shading="auto", cmap="magma")
        fig.colorbar(mesh, ax=ax_map, label="meta-loss (sum over T=%s steps)"
                     % settings.get("horizon", "100"))
    for i, ((m, n), seeds) in enumerate(runs.items()):
        c = color(m, i)
        for k, run in enumerate(seeds.values()):
            ax_map.plot(run["theta_0"], run["theta_1"], color=c, lw=1.2,
                        alpha=0.9, label=label(m) if k == 0 else None)
            ax_map.plot(run["theta_0"][-1], run["theta_1"][-1], "o", color=c,
                        ms=4, mec="w")
        first = next(iter(seeds.values()))
        ax_map.plot(first["theta_0"][0], first["theta_1"][0], "k*", ms=10)
        plot_runs(ax_curve, seeds, "meta_loss", c,
                  label(m) if n == 0 else "%s N=%d" % (label(m), n))
    ax_map.set_xlabel("theta_0 = log initial learning rate")
    ax_map.set_ylabel("theta_1 = log final learning rate")
    ax_map.set_title("meta-loss landscape and trajectories (* = start)")
    ax_map.legend(fontsize=8, loc="lower left")
    ax_curve.set_xlabel("outer iteration")
    ax_curve.set_ylabel("meta-loss (full T-step unroll)")
    ax_curve.set_title("meta-loss over meta-optimisation")
    ax_curve.grid(alpha=0.3)
    ax_curve.legend(fontsize=8)
    fig.suptitle("Fig. 15 reproduction: %s iterations, seeds %s, commit %s"
                 % (settings.get("iterations", "?"), meta.get("seeds", []),
                    str(meta.get("git_commit", "?"))[:10]), fontsize=10)
    fig.tight_layout()
    path = os.path.join(out, "fig15_toy2d%s.png" % suffix)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--figure", required=True, choices=FIGURES + ("all",),
                        help="which figure to draw")
    parser.add_argument("--results", default="results/",
                        help="directory holding <figure>/<figure>.csv "
                             "(default: results/)")
    parser.add_argument("--out", default="docs/figures/",
                        help="directory for the PNGs (default: docs/figures/)")
    parser.add_argument("--input_dir", default=None,
                        help="directory holding <figure>.csv directly, e.g. "
                             "a run with --out_dir=results/fig5_influence_sgd "
                             "(default: <results>/<figure>/; one figure only)")
    parser.add_argument("--suffix", default="",
                        help="appended to the PNG name, e.g. _sgd -> "
                             "fig5_influence_sgd.png")
    args = parser.parse_args(argv)
    if args.input_dir and args.figure == "all":
        parser.error("--input_dir needs a single --figure")
    os.makedirs(args.out, exist_ok=True)
    todo = FIGURES if args.figure == "all" else (args.figure,)
    for name in todo:
        base = args.input_dir or os.path.join(args.results, name)
        try:
            path = {"fig5_influence": fig5, "fig15_toy2d": fig15}[name](
                base, args.out, args.suffix)
        except FileNotFoundError as e:
            print("plot_figures: %s: missing input %s (run bazel run "
                  "//experiments:%s first)" % (name, e.filename, name),
                  file=sys.stderr)
            return 1
        print("wrote %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
