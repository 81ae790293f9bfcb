#!/usr/bin/python3
"""Turns the MNIST LR-schedule figure binaries' output into PNG figures.

Reads the CSVs and JSON sidecars written by (experiments/figure_io.h):

  fig7      <results>/fig7_mnist_lr_schedule/<run>/fig7_mnist_lr_schedule
            {.csv,_grid.csv,.json} -> fig7_mnist_lr_schedule<suffix>.png:
            (a) truncated ES, PES and ES-Single trajectories over the
            log meta-loss contours (Fig. 7), (b) meta-loss per iteration.
  fig17_18  <results>/fig17_18_mnist_k1/<run>/... -> fig17_18_mnist_k1
            <suffix>.png: (a) ES-Single and PES at outer LR 1e-2 (Fig. 17),
            (b) truncated ES, PES at the small LR and ES-Single (Fig. 18),
            both over the contours, (c) meta-loss per iteration.
  fig19     <results>/fig19_meta_gradients/<run>/... -> fig19_meta_gradients
            <suffix>.png: (a) the learning rate of PES and ES-Single per
            iteration, inner-problem boundaries dashed, the grid-search
            optimum dotted; (b) the per-iteration meta-gradient estimates;
            (c) the grid-search meta-loss curve.
  fig26     <results>/fig26_gdtuo/<run>/... -> fig26_gdtuo<suffix>.png:
            (a) trajectories of truncated ES, ES-Single and hypergradient
            descent (GDTUO, with and without resets) over the contours,
            (b) mean training loss (meta-loss / T of a fresh unroll) per
            iteration.

<run> is --run (e.g. "scaled"; empty: the binary's default directory);
<suffix> is "_<run>" when --run is given. Seed 0 is drawn solid, other seeds
thin. A run made with --grid_size=0 can borrow the contours of another run
of the SAME inner problem (same T, Q, data, --eval_key) with --grid_csv.

Run with Debian's Python, which has matplotlib:

  /usr/bin/python3 tools/plot_mnist_figures.py --figure all --run scaled \
      --results results/ --out docs/figures/
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

BINARIES = {
    "fig7": "fig7_mnist_lr_schedule",
    "fig17_18": "fig17_18_mnist_k1",
    "fig19": "fig19_meta_gradients",
    "fig26": "fig26_gdtuo",
}
COLORS = {
    "es_single": "tab:red",
    "pes": "tab:green",
    "pes_lr_small": "tab:olive",
    "tes": "tab:blue",
    "tes_particle": "tab:cyan",
    "full_es": "tab:gray",
    "gdtuo": "tab:purple",
    "gdtuo_reset": "tab:orange",
}
LABELS = {
    "es_single": "ES-Single",
    "pes": "PES",
    "pes_lr_small": "PES (small outer LR)",
    "tes": "ES (truncated)",
    "tes_particle": "ES (truncated, per particle)",
    "full_es": "Full ES",
    "gdtuo": "GDTUO (no reset)",
    "gdtuo_reset": "GDTUO (reset every T)",
}



def settings_of(sidecar):
    """The run's resolved settings: the sidecar's "flags" (every flag's
    resolved value, as text) overlaid with its "settings" (values the figure
    computed). Boolean flags come back as bools, numeric ones as floats."""
    # The sidecar's "flags" holds the framework's flags; the figure's own
    # (horizon, schedule_q, ...) come from the preset's values, then the
    # command line (which wins), else their defaults in
    # experiments/mnist_common.cc.
    raw = {"horizon": "5000", "schedule_q": "5000"}
    raw.update(sidecar.get("presets", {}).get(sidecar.get("preset", ""), {}))
    for word in sidecar.get("command", "").split()[1:]:
        if word.startswith("--") and "=" in word:
            k, v = word[2:].split("=", 1)
            raw[k] = v
    raw.update(sidecar.get("flags", {}))
    merged = {}
    for k, v in raw.items():
        if v in ("true", "false"):
            merged[k] = v == "true"
            continue
        try:
            merged[k] = float(v)  # numbers come as text in "flags"
        except (TypeError, ValueError):
            merged[k] = v
    merged.update(sidecar.get("settings", {}))
    merged.setdefault("outer_learning_rate", merged.get("learning_rate"))
    return merged

def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def read_trace(path):
    """{method: {seed: {column: np.array}}} in file order."""
    runs = collections.OrderedDict()
    for row in read_csv(path):
        seeds = runs.setdefault(row["method"], collections.OrderedDict())
        cols = seeds.setdefault(int(row["seed"]), collections.defaultdict(list))
        for k, v in row.items():
            if k not in ("method", "seed"):
                cols[k].append(float(v))
    return {m: {s: {k: np.array(v) for k, v in c.items()} for s, c in ss.items()}
            for m, ss in runs.items()}


def read_json(path):
    with open(path) as f:
        return json.load(f)


def label(method, sidecar=None):
    text = LABELS.get(method, method)
    if sidecar is not None and method == "pes_lr_small":
        lr = settings_of(sidecar).get("small_learning_rate")
        if lr is not None:
            text = "PES (outer LR %g)" % lr
    return text


GRID_OVERRIDE = [None]


def grid_file(d, binary):
    own = os.path.join(d, binary + "_grid.csv")
    return own if os.path.exists(own) or GRID_OVERRIDE[0] is None else (
        GRID_OVERRIDE[0])


def contour(ax, grid_path, title):
    """Filled contours of log(meta-loss) on the theta grid (x = log decay,
    y = log init LR, as the paper's Fig. 7). Without a grid (a run made
    with --grid_size=0 and no --grid_csv) only the axes are drawn."""
    ax.set_xlabel("Log LR Decay (theta_1)")
    ax.set_ylabel("Log Init LR (theta_0)")
    if grid_path is None or not os.path.exists(grid_path):
        ax.set_title(title + " (no meta-loss grid)")
        return
    rows = read_csv(grid_path)
    t0 = sorted({float(r["theta_0"]) for r in rows})
    t1 = sorted({float(r["theta_1"]) for r in rows})
    z = np.full((len(t0), len(t1)), np.nan)
    for r in rows:
        v = float(r["meta_loss"])
        z[t0.index(float(r["theta_0"])), t1.index(float(r["theta_1"]))] = (
            math.log(v) if math.isfinite(v) and v > 0 else np.nan)
    finite = z[np.isfinite(z)]
    # Clip the diverging corner so that the basin keeps the colour range.
    hi = min(finite.max(), np.percentile(finite, 85) + 0.5)
    zc = np.where(np.isfinite(z), np.minimum(z, hi), hi)
    cs = ax.contourf(t1, t0, zc, levels=14, cmap="viridis")
    plt.colorbar(cs, ax=ax, label="log meta-loss (sum of T train losses)")
    ax.set_title(title)
    best = int(np.nanargmin(z))
    ax.plot(t1[best % len(t1)], t0[best // len(t1)], "w*", ms=12,
            label="grid min")


def trajectories(ax, trace, methods, sidecar=None):
    start = None
    for m in methods:
        for i, (seed, c) in enumerate(trace.get(m, {}).items()):
            ax.plot(c["theta_1"], c["theta_0"], color=COLORS.get(m, "k"),
                    lw=2 if i == 0 else 0.8, alpha=1 if i == 0 else 0.6,
                    label=label(m, sidecar) if i == 0 else None)
            start = (c["theta_1"][0], c["theta_0"][0])
    if start is not None:
        ax.plot(*start, "ko", ms=7, label="Init")
    ax.legend(fontsize=7, loc="lower right")


def loss_curves(ax, trace, methods, sidecar, per_step=False):
    horizon = float(settings_of(sidecar)["horizon"])
    for m in methods:
        for i, (seed, c) in enumerate(trace.get(m, {}).items()):
            y = c["meta_loss"] / horizon if per_step else c["meta_loss"]
            ax.plot(c["iteration"], y, color=COLORS.get(m, "k"),
                    lw=2 if i == 0 else 0.8, alpha=1 if i == 0 else 0.6,
                    label=label(m, sidecar) if i == 0 else None)
    ax.set_xlabel("outer iteration (K inner steps each)")
    ax.set_ylabel("mean training loss (meta-loss / T)" if per_step
                  else "meta-loss (sum of T train losses)")
    ax.set_yscale("log")
    ax.legend(fontsize=7)


def run_dir(results, binary, run):
    return os.path.join(results, binary, run) if run else os.path.join(
        results, binary)


def setting_note(sidecar):
    s = settings_of(sidecar)
    g = lambda v: "%g" % v if isinstance(v, float) else str(v)
    return "T=%s K=%s N=%s seeds=%s%s" % (
        g(s.get("horizon")), g(s.get("truncation")), g(s.get("num_particles")),
        ",".join(str(x) for x in sidecar.get("seeds", [])),
        " SCALED" if s.get("scaled") else "")


def plot_fig7(d, binary, out):
    trace = read_trace(os.path.join(d, binary + ".csv"))
    sc = read_json(os.path.join(d, binary + ".json"))
    methods = [m for m in ("tes", "pes", "es_single") if m in trace]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    contour(axes[0], grid_file(d, binary),
            "Fig. 7: LR schedule, K=%g" % settings_of(sc)["truncation"])
    trajectories(axes[0], trace, methods)
    loss_curves(axes[1], trace, methods, sc)
    axes[1].set_title("meta-loss of a fresh unroll at theta")
    fig.suptitle("MNIST LR schedule (%s)" % setting_note(sc))
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def plot_fig17_18(d, binary, out):
    trace = read_trace(os.path.join(d, binary + ".csv"))
    sc = read_json(os.path.join(d, binary + ".json"))
    grid = grid_file(d, binary)
    fig, axes = plt.subplots(1, 3, figsize=(19, 5))
    contour(axes[0], grid, "Fig. 17: outer LR %g, K=1" %
            settings_of(sc)["outer_learning_rate"])
    trajectories(axes[0], trace, [m for m in ("pes", "es_single") if m in trace])
    contour(axes[1], grid, "Fig. 18: ES, PES (small LR), ES-Single, K=1")
    trajectories(axes[1], trace, [m for m in ("tes", "pes_lr_small", "es_single")
                                  if m in trace], sc)
    loss_curves(axes[2], trace, list(trace), sc)
    axes[2].set_title("meta-loss of a fresh unroll at theta")
    fig.suptitle("MNIST LR schedule, K = 1 (%s)" % setting_note(sc))
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def plot_fig19(d, binary, out):
    sc = read_json(os.path.join(d, binary + ".json"))
    lrs = read_csv(os.path.join(d, binary + "_lr.csv"))
    grads = read_csv(os.path.join(d, binary + "_grads.csv"))
    per_problem = int(settings_of(sc)["iterations_per_inner_problem"])
    iters = int(settings_of(sc)["iterations"])
    opt = settings_of(sc).get("grid_argmin_theta_0")
    fig, axes = plt.subplots(1, 3, figsize=(19, 4.8))
    for ax, rows, col, ylab in ((axes[0], lrs, "learning_rate", "learning rate"),
                                (axes[1], grads, "gradient",
                                 "meta-gradient estimate d/d log LR")):
        by = collections.OrderedDict()
        for r in rows:
            by.setdefault((r["method"], int(r["seed"])), ([], []))
            by[(r["method"], int(r["seed"]))][0].append(int(r["iteration"]))
            by[(r["method"], int(r["seed"]))][1].append(float(r[col]))
        seen = set()
        for (m, seed), (x, y) in by.items():
            first = m not in seen
            seen.add(m)
            ax.plot(x, y, color=COLORS.get(m, "k"), lw=1.2 if first else 0.6,
                    alpha=0.9 if first else 0.5,
                    label=label(m) if first else None)
        for b in range(per_problem, iters, per_problem):
            ax.axvline(b + 0.5, color="k", ls="--", lw=0.7)
        ax.set_xlabel("outer iteration (dashed: new inner problem)")
        ax.set_ylabel(ylab)
        ax.legend(fontsize=8)
    if opt is not None:
        axes[0].axhline(math.exp(opt), color="k", ls=":",
                        label="grid-search optimum %.3g" % math.exp(opt))
        axes[0].legend(fontsize=8)
    axes[0].set_yscale("log")
    axes[0].set_title("(a) learning rate over meta-optimisation")
    axes[1].set_title("(b) per-iteration meta-gradients")
    grid = read_csv(grid_file(d, binary))
    x = [math.exp(float(r["theta_0"])) for r in grid]
    y = [float(r["meta_loss"]) for r in grid]
    axes[2].plot(x, y, "k.-")
    axes[2].set_xscale("log")
    axes[2].set_yscale("log")
    axes[2].set_xlabel("learning rate")
    axes[2].set_ylabel("meta-loss (mean over %s inner problems)" %
                       settings_of(sc).get("grid_keys"))
    axes[2].set_title("(c) grid search")
    fig.suptitle("Meta-gradient comparison, global LR (%s)" % setting_note(sc))
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def plot_fig26(d, binary, out):
    trace = read_trace(os.path.join(d, binary + ".csv"))
    sc = read_json(os.path.join(d, binary + ".json"))
    methods = [m for m in ("tes", "es_single", "gdtuo", "gdtuo_reset")
               if m in trace]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    contour(axes[0], grid_file(d, binary),
            "(a) trajectories, K=%g" % settings_of(sc)["truncation"])
    trajectories(axes[0], trace, methods)
    loss_curves(axes[1], trace, methods, sc, per_step=True)
    axes[1].set_title("(b) mean training loss of a fresh unroll at theta")
    fig.suptitle("Hypergradient descent vs ES (%s)" % setting_note(sc))
    fig.tight_layout()
    fig.savefig(out, dpi=110)


PLOTTERS = {"fig7": plot_fig7, "fig17_18": plot_fig17_18, "fig19": plot_fig19,
            "fig26": plot_fig26}


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--figure", default="all",
                   choices=sorted(PLOTTERS) + ["all"])
    p.add_argument("--results", default="results")
    p.add_argument("--run", default="",
                   help="subdirectory of results/<binary>/ (e.g. scaled)")
    p.add_argument("--out", default="docs/figures")
    p.add_argument("--grid_csv", default=None,
                   help="contours to use when the run has no _grid.csv")
    args = p.parse_args(argv)
    GRID_OVERRIDE[0] = args.grid_csv
    os.makedirs(args.out, exist_ok=True)
    figures = sorted(PLOTTERS) if args.figure == "all" else [args.figure]
    status = 0
    for f in figures:
        binary = BINARIES[f]
        d = run_dir(args.results, binary, args.run)
        if not os.path.exists(os.path.join(d, binary + ".json")):
            print("skipping %s: no %s" % (f, os.path.join(d, binary + ".json")),
                  file=sys.stderr)
            status = 1
            continue
        out = os.path.join(args.out, binary + ("_" + args.run if args.run
                                               else "") + ".png")
        PLOTTERS[f](d, binary, out)
        print("wrote", out)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
