#!/usr/bin/python3
"""Turns the figure binaries' CSV output into PNG figures.

Reads the tidy CSVs written by the experiments/ binaries (see
experiments/figure_io.h for the contract) and writes one PNG per figure:

  fig5_influence  <results>/fig5_influence/fig5_influence.csv
                  -> <out>/fig5_influence.png: theta and meta-loss over
                  iterations; (a) ES methods at the Fig. 5a N and the
                  gradient-based baselines (TBPTT K=1/10/100, RTRL, UORO;
                  dashed), (b) ES-Single and PES across N.
  fig15_toy2d     <results>/fig15_toy2d/fig15_toy2d{,_grid}.csv
                  -> <out>/fig15_toy2d.png: meta-loss heatmap with the
                  meta-optimisation trajectories overlaid (ES methods and the
                  gradient-based baselines), and meta-loss curves.
  fig25_dodge     <results>/fig25_dodge/fig25_dodge{,_grid}.csv
                  -> <out>/fig25_dodge.png: (a) trajectories over the
                  meta-loss heatmap for DODGE (one direction) and ES-Single
                  (one pair, same directions) at each sigma; (b) DODGE with
                  D directions and ES-Single with D pairs vs RTRL; (c)
                  meta-loss curves.

  fig1_lstm_variance  <results>/fig1_lstm_variance/fig1_lstm_variance.csv
                  -> <out>/fig1_lstm_variance.png: normalised variance
                  against the number of unrolls, log-log, PES solid and
                  ES-Single dashed, one colour per scenario (the paper's form).
  fig10_copy_task <results>/fig10_copy_task/fig10_copy_task.csv
                  -> <out>/fig10_copy_task.png: maximum T copied against
                  tokens, one colour per method, one curve per seed/lr/sigma.

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

FIGURES = ("fig5_influence", "fig15_toy2d", "fig25_dodge")
# Drawn only when named (their committed runs are under <figure>/scaled*/,
# so --figure all does not expect them): use --input_dir.
EXTRA_FIGURES = ("fig1_lstm_variance", "fig10_copy_task")
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
    "dodge": "k",
}
# Gradient-based baselines are dashed, so that a curve they share with an ES
# method (RTRL and ES-Single coincide on influence balancing; TBPTT K=1 and
# truncated ES nearly do) stays visible.
GRADIENT_METHODS = ("tbptt_k1", "tbptt_k10", "tbptt_k100", "rtrl", "uoro",
                    "dodge")
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
    "dodge": "DODGE",
}



def settings_of(sidecar):
    """The run's resolved settings: the sidecar's "flags" (every flag's
    resolved value, as text) overlaid with its "settings" (values the figure
    computed). Boolean flags come back as bools."""
    merged = {}
    for k, v in sidecar.get("flags", {}).items():
        merged[k] = {"true": True, "false": False}.get(v, v)
    merged.update(sidecar.get("settings", {}))
    merged.setdefault("outer_learning_rate", merged.get("learning_rate"))
    return merged

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
    if method.startswith("es_single_sigma"):
        return "ES-Single sigma=%s" % method[len("es_single_sigma"):]
    return LABELS.get(method, method)


def linestyle(method):
    return "--" if method in GRADIENT_METHODS else "-"


def plot_runs(ax, seeds, column, c, lbl, clip=None, ls="-"):
    """Thin line per seed, thick mean over seeds."""
    arrays = []
    for run in seeds.values():
        y = run[column]
        if clip is not None:
            y = np.clip(y, *clip)
        ax.plot(run["iteration"], y, color=c, alpha=0.25, lw=0.8, ls=ls)
        arrays.append((run["iteration"], run[column]))
    its = arrays[0][0]
    if all(len(a[0]) == len(its) and np.array_equal(a[0], its) for a in arrays):
        mean = np.mean([a[1] for a in arrays], axis=0)
        if clip is not None:
            mean = np.clip(mean, *clip)
        ax.plot(its, mean, color=c, lw=2.0, ls=ls,
                label="%s (%d seeds)" % (lbl, len(arrays)))


def read_grid(path):
    """(theta_0 axis, theta_1 axis, meta-loss z[i0, i1]) of a grid CSV."""
    t0, t1, loss = [], [], []
    with open(path, newline="") as f:
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
    return a0, a1, z


def draw_heatmap(fig, ax, grid, horizon):
    """Meta-loss heatmap; darker = lower meta-loss (as in the paper)."""
    a0, a1, z = grid
    mesh = ax.pcolormesh(a0, a1, z.T, shading="auto", cmap="magma")
    fig.colorbar(mesh, ax=ax, label="meta-loss (sum over T=%s steps)" % horizon)


def fig5(base, out, suffix=""):
    runs = read_trace(os.path.join(base, "fig5_influence.csv"))
    meta = read_json(os.path.join(base, "fig5_influence.json"))
    settings = settings_of(meta)
    n_main = int(settings.get("num_particles", 1000))
    theta_star = float(settings.get("theta_long_run_optimum", -1.0 / 6.0))
    flags = meta.get("flags", {})
    ablation = [m for m in flags.get("ablation_methods", "es_single,pes").split(",") if m]

    fig, axes = plt.subplots(2, 2, figsize=(14, 9), sharex="col")
    # (a) shows the wrong-way methods (theta up to about 4.4); (b) clips
    # tighter, PES with few particles can diverge (SGD variant).
    theta_clip_a = (-1.0, 5.0)
    theta_clip = (-1.0, 2.0)
    # (a) every method at the 5a N.
    for i, ((m, n), seeds) in enumerate(runs.items()):
        if n != n_main and n != 0:
            continue
        c = color(m, i)
        lbl = label(m) if n == 0 else "%s N=%d" % (label(m), n)
        plot_runs(axes[0][0], seeds, "theta_0", c, lbl, clip=theta_clip_a,
                  ls=linestyle(m))
        plot_runs(axes[1][0], seeds, "meta_loss", c, lbl, ls=linestyle(m))
    # (b) ablation methods across N: colour per method, shade per N.
    for m in ablation:
        ns = sorted(n for (mm, n) in runs if mm == m)
        cmap = plt.get_cmap("Reds" if m == "es_single" else "Blues")
        for j, n in enumerate(ns):
            c = cmap(0.35 + 0.65 * (j + 1) / len(ns))
            lbl = "%s N=%d" % (label(m), n)
            plot_runs(axes[0][1], runs[(m, n)], "theta_0", c, lbl, clip=theta_clip)
            plot_runs(axes[1][1], runs[(m, n)], "meta_loss", c, lbl)
    for ax, clip in zip(axes[0], (theta_clip_a, theta_clip)):
        ax.axhline(theta_star, color="k", ls=":", lw=1, label="theta* = -1/6")
        ax.set_ylim(*clip)
        ax.set_ylabel("theta (clipped to [%g, %g])" % clip)
    for ax in axes[1]:
        ax.set_yscale("log")
        ax.set_xlabel("outer iteration")
        ax.set_ylabel("meta-loss (sum of %s-step losses)"
                      % settings.get("eval_length", "?"))
    axes[0][0].set_title("(a) influence balancing, K=1, ES methods N=%d; "
                         "gradient-based dashed" % n_main)
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
    settings = settings_of(meta)
    grid_path = os.path.join(base, "fig15_toy2d_grid.csv")

    fig, (ax_map, ax_curve) = plt.subplots(1, 2, figsize=(14, 6))
    if os.path.exists(grid_path):
        draw_heatmap(fig, ax_map, read_grid(grid_path),
                     settings.get("horizon", "100"))
    for i, ((m, n), seeds) in enumerate(runs.items()):
        c = color(m, i)
        for k, run in enumerate(seeds.values()):
            ax_map.plot(run["theta_0"], run["theta_1"], color=c, lw=1.2,
                        ls=linestyle(m), alpha=0.9,
                        label=label(m) if k == 0 else None)
            ax_map.plot(run["theta_0"][-1], run["theta_1"][-1], "o", color=c,
                        ms=4, mec="w")
        first = next(iter(seeds.values()))
        ax_map.plot(first["theta_0"][0], first["theta_1"][0], "k*", ms=10)
        plot_runs(ax_curve, seeds, "meta_loss", c,
                  label(m) if n == 0 else "%s N=%d" % (label(m), n),
                  ls=linestyle(m))
    ax_map.set_xlabel("theta_0 = log initial learning rate")
    ax_map.set_ylabel("theta_1 = log final learning rate")
    ax_map.set_title("meta-loss landscape and trajectories (* = start; "
                     "gradient-based dashed)")
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


def fig25(base, out, suffix=""):
    runs = read_trace(os.path.join(base, "fig25_dodge.csv"))
    meta = read_json(os.path.join(base, "fig25_dodge.json"))
    settings = settings_of(meta)
    grid_path = os.path.join(base, "fig25_dodge_grid.csv")
    grid = read_grid(grid_path) if os.path.exists(grid_path) else None
    horizon = settings.get("horizon", "100")

    # Panel (a): D = 1 / N = 2; panel (b): RTRL and the largest D / N.
    panel_a = [(m, n) for (m, n) in runs
               if (m == "dodge" and n == 1) or
               (m.startswith("es_single_sigma") and n == 2)]
    big_d = max([n for (m, n) in runs if m == "dodge"] or [0])
    panel_b = [(m, n) for (m, n) in runs
               if m == "rtrl" or (m == "dodge" and n == big_d and n > 1) or
               (m.startswith("es_single_sigma") and n == 2 * big_d and n > 2)]
    es_cmap = plt.get_cmap("autumn")
    sigmas = sorted({float(m[len("es_single_sigma"):]) for (m, n) in panel_a
                     if m.startswith("es_single_sigma")})

    def style(m, n):
        """(colour, line width, line style, label) of a configuration."""
        if m == "rtrl":  # wide, under DODGE: shows as a halo where they agree
            return "tab:cyan", 6.0, "-", "RTRL (exact)"
        if m == "dodge":
            return ("k", 2.4, "-",
                    "DODGE, %d direction%s" % (n, "" if n == 1 else "s"))
        sigma = float(m[len("es_single_sigma"):])
        if n > 2:
            return ("tab:red", 1.2, "--",
                    "ES-Single sigma=%g, %d pairs" % (sigma, n // 2))
        j = sigmas.index(sigma)
        c = es_cmap(0.85 * j / max(1, len(sigmas) - 1))
        return c, 1.2, "--" if j == 0 else "-", "ES-Single sigma=%g, 1 pair" % sigma

    fig, axes = plt.subplots(1, 3, figsize=(20, 6.2))
    for ax, configs, title in (
            (axes[0], panel_a,
             "(a) same direction per inner problem: DODGE vs ES-Single"),
            (axes[1], panel_b,
             "(b) %d directions: DODGE and ES-Single vs RTRL" % big_d)):
        if grid is not None:
            draw_heatmap(fig, ax, grid, horizon)
        for (m, n) in configs:
            c, lw, ls, lbl = style(m, n)
            for k, run in enumerate(runs[(m, n)].values()):
                ax.plot(run["theta_0"], run["theta_1"], color=c, lw=lw, ls=ls,
                        alpha=0.9, label=lbl if k == 0 else None)
                ax.plot(run["theta_0"][-1], run["theta_1"][-1], "o", color=c,
                        ms=4, mec="w")
        if configs:
            first = next(iter(runs[configs[0]].values()))
            ax.plot(first["theta_0"][0], first["theta_1"][0], "w*", ms=12,
                    mec="k")
        ax.set_xlabel("theta_0 = log initial learning rate")
        ax.set_ylabel("theta_1 = log final learning rate")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7, loc="lower left")
    # Zoom each map on where its trajectories go.
    for ax, configs in ((axes[0], panel_a), (axes[1], panel_b)):
        if not configs:
            continue
        xs = np.concatenate([r["theta_0"] for k in configs
                             for r in runs[k].values()])
        ys = np.concatenate([r["theta_1"] for k in configs
                             for r in runs[k].values()])
        lo0, hi0 = xs.min() - 0.5, xs.max() + 0.5
        lo1, hi1 = ys.min() - 0.5, ys.max() + 0.5
        if grid is not None:  # no blank margin beyond the heatmap
            lo0, hi0 = max(lo0, grid[0][0]), min(hi0, grid[0][-1])
            lo1, hi1 = max(lo1, grid[1][0]), min(hi1, grid[1][-1])
        ax.set_xlim(lo0, hi0)
        ax.set_ylim(lo1, hi1)
    for (m, n) in panel_a + [k for k in panel_b if k not in panel_a]:
        c, lw, ls, lbl = style(m, n)
        plot_runs(axes[2], runs[(m, n)], "meta_loss", c, lbl, ls=ls)
    axes[2].set_xlabel("outer iteration")
    axes[2].set_ylabel("meta-loss (full T-step unroll)")
    axes[2].set_title("(c) meta-loss over meta-optimisation", fontsize=10)
    axes[2].grid(alpha=0.3)
    axes[2].legend(fontsize=7)
    fig.suptitle("Fig. 25 reproduction: K=%s, T=%s, %s iterations, seeds %s, "
                 "Adam lr %s, commit %s (* = start)"
                 % (settings.get("truncation", "?"), horizon,
                    settings.get("iterations", "?"), meta.get("seeds", []),
                    meta.get("flags", {}).get("learning_rate", "?"),
                    str(meta.get("git_commit", "?"))[:10]), fontsize=10)
    fig.tight_layout()
    path = os.path.join(out, "fig25_dodge%s.png" % suffix)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def fig1(base, out, suffix=""):
    rows = list(csv.DictReader(open(os.path.join(base,
                                                 "fig1_lstm_variance.csv"))))
    fig, ax = plt.subplots(figsize=(7, 5))
    colors = {"random": "tab:blue", "repeat": "tab:green", "ptb": "tab:red"}
    for scenario in colors:
        for method, ls in (("pes", "-"), ("es_single", "--")):
            pts = sorted((float(r["num_unrolls"]),
                          float(r["normalized_variance"]),
                          float(r["normalized_variance_stderr"]))
                         for r in rows
                         if r["scenario"] == scenario and r["method"] == method)
            if not pts:
                continue
            x, y, e = zip(*pts)
            ax.errorbar(x, y, yerr=e, ls=ls, marker="o", ms=3,
                        color=colors[scenario],
                        label="%s %s" % (LABELS.get(method, method), scenario))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("# unrolls (T / K)")
    ax.set_ylabel("tr Var / ||grad L||^2")
    ax.legend(fontsize=8, ncol=2)
    ax.set_title("Fig. 1: variance vs number of unrolls (tiny LSTM)")
    path = os.path.join(out, "fig1_lstm_variance%s.png" % suffix)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def fig10(base, out, suffix=""):
    rows = list(csv.DictReader(open(os.path.join(base, "fig10_copy_task.csv"))))
    runs = collections.OrderedDict()
    for r in rows:
        key = (r["method"], r["seed"], r["learning_rate"], r["sigma"])
        runs.setdefault(key, []).append((int(r["tokens"]),
                                         int(r["max_copied_length"])))
    methods = list(collections.OrderedDict.fromkeys(k[0] for k in runs))
    cmap = plt.get_cmap("tab10")
    fig, ax = plt.subplots(figsize=(7, 5))
    seen = set()
    for key, pts in runs.items():
        i = methods.index(key[0])
        ls = ":" if key[0].startswith("tbptt") else "-"
        label = None if key[0] in seen else key[0]
        seen.add(key[0])
        x, y = zip(*pts)
        ax.step(x, y, where="post", color=cmap(i % 10), ls=ls, label=label)
    ax.set_xlabel("tokens (data time)")
    ax.set_ylabel("maximum T copied")
    ax.legend(fontsize=8)
    ax.set_title("Figs. 10/16: LSTM copy task")
    path = os.path.join(out, "fig10_copy_task%s.png" % suffix)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--figure", required=True,
                        choices=FIGURES + EXTRA_FIGURES + ("all",),
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
            path = {"fig1_lstm_variance": fig1, "fig5_influence": fig5,
                    "fig10_copy_task": fig10, "fig15_toy2d": fig15,
                    "fig25_dodge": fig25}[name](base, args.out, args.suffix)
        except FileNotFoundError as e:
            print("plot_figures: %s: missing input %s (run bazel run "
                  "//experiments:%s first)" % (name, e.filename, name),
                  file=sys.stderr)
            return 1
        print("wrote %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
