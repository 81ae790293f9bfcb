#!/usr/bin/python3
"""Plots the learned-optimiser figures (Figs. 11 and 21) and prints their
summary numbers.

Reads the CSVs written by //experiments:fig11_learned_optimizer and
//experiments:fig21_lopt_sigma (experiments/lopt_figure.h):

  <results>/<binary>.csv        method,num_particles,seed,iteration,
                                meta_loss,particle_steps
  <results>/<binary>_inner.csv  method,seed,step,loss

and writes <out>/<binary><suffix>.png: (left) the meta-objective (mean
training loss over the T-step evaluation inner problem) against outer
iterations, one line per (method, seed); (right) the inner training curves
of the initial and meta-trained optimisers (seed 0) and, when
<binary>_adam.csv exists, of Adam at its best learning rate (dashed). It
also prints, per
method and seed, the initial, minimum and final meta-loss and the last
window of the inner curve.

Run with Debian's Python, which has matplotlib (python3-matplotlib):

  /usr/bin/python3 tools/plot_lopt_figures.py --binary fig11_learned_optimizer \
      --results results/fig11_learned_optimizer/scaled --suffix _scaled
  /usr/bin/python3 tools/plot_lopt_figures.py --binary fig21_lopt_sigma \
      --results results/fig21_lopt_sigma/scaled --suffix _scaled
"""

import argparse
import collections
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--binary", required=True,
                   choices=("fig11_learned_optimizer", "fig21_lopt_sigma"))
    p.add_argument("--results", required=True)
    p.add_argument("--out", default="docs/figures")
    p.add_argument("--suffix", default="")
    args = p.parse_args(argv)

    trace = read(os.path.join(args.results, args.binary + ".csv"))
    runs = collections.OrderedDict()
    for r in trace:
        runs.setdefault((r["method"], r["seed"]), []).append(
            (int(r["iteration"]), float(r["meta_loss"])))
    curves = collections.OrderedDict()
    inner_path = os.path.join(args.results, args.binary + "_inner.csv")
    if os.path.exists(inner_path):
        for r in read(inner_path):
            curves.setdefault((r["method"], r["seed"]), []).append(
                (int(r["step"]), float(r["loss"])))

    methods = list(dict.fromkeys(m for m, _ in runs))
    print("method,seed,initial,min,final,inner_first_window,inner_last_window")
    for (m, s), pts in runs.items():
        losses = [l for _, l in pts]
        c = curves.get((m, s), [])
        print(f"{m},{s},{losses[0]:.4f},{min(losses):.4f},{losses[-1]:.4f},"
              f"{c[0][1] if c else float('nan'):.4f},"
              f"{c[-1][1] if c else float('nan'):.4f}")
    for (m, s), c in curves.items():
        if m == "initial":
            print(f"initial,{s},,,,{c[0][1]:.4f},{c[-1][1]:.4f}")

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for (m, s), pts in runs.items():
        i = methods.index(m)
        a.plot([x for x, _ in pts], [y for _, y in pts], color=COLORS[i % 5],
               alpha=0.8, label=m if s == min(
                   ss for mm, ss in runs if mm == m) else None)
    a.set_xlabel("outer iteration")
    a.set_ylabel("meta-objective (mean training loss over T)")
    a.set_yscale("log")
    a.legend()
    for (m, s), c in curves.items():
        if s != "0":
            continue
        color = "black" if m == "initial" else COLORS[methods.index(m) % 5]
        b.plot([x for x, _ in c], [y for _, y in c], color=color, label=m)
    adam_path = os.path.join(args.results, args.binary + "_adam.csv")
    if os.path.exists(adam_path):
        by_lr = collections.OrderedDict()
        for r in read(adam_path):
            by_lr.setdefault(r["lr"], []).append(
                (int(r["step"]), float(r["loss"])))
        lr = min(by_lr, key=lambda k: sum(y for _, y in by_lr[k]))
        c = by_lr[lr]
        print(f"adam_tuned_lr{lr},,,,{sum(y for _, y in c) / len(c):.4f},"
              f"{c[0][1]:.4f},{c[-1][1]:.4f}")
        b.plot([x for x, _ in c], [y for _, y in c], color="gray", ls="--",
               label=f"Adam, tuned lr {lr}")
    b.set_xlabel("inner step")
    b.set_ylabel("training loss (mean over each K-step window)")
    b.set_yscale("log")
    b.legend()
    b.set_title("inner training, seed 0")
    fig.tight_layout()
    os.makedirs(args.out, exist_ok=True)
    out = os.path.join(args.out, args.binary + args.suffix + ".png")
    fig.savefig(out, dpi=110)
    print("wrote", out)


if __name__ == "__main__":
    main(sys.argv[1:])
