#!/usr/bin/env python3
"""Turns results/scaling/measured/ (tools/scaling_measure.sh) into the
measured table and the cost-model table of docs/scaling.md, written between
the <!-- scaling:measured --> and <!-- scaling:model --> markers.

The model (docs/scaling.md): per estimate, with 1 thread per rank,
  t(R) = S + c_pair * ceil(pairs / R) + ceil(log2 R) * alpha + 16 N beta.
S, what every rank repeats, is measured directly (rank_overhead.csv:
BM_RankOverhead, rank 0 of 100000 ranks owning no pair, N = 1000, on a
problem whose unroll is free); it is linear in N. c_pair = (t1 - S) / pairs
from the one-process, one-thread run t1 at the measured N.

  python3 tools/scaling_model.py [results/scaling/measured]
"""
import csv
import math
import os
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "scaling.md")

# Paper settings to predict: (case, method) measured -> (label, N, the
# BM_RankOverhead row giving S at N = 1000: method/N/P).
TARGETS = {
    ("mlp_fig7_n100", "es_single"): ("Fig. 7 (784-100-100-10 MLP, K = 10), ES-Single", 1000, "es_single/1000/29"),
    ("mlp_fig9_n100", "es_single"): ("Fig. 9 (784-100x5-10 MLP, K = 10), ES-Single", 1000, "es_single/1000/29"),
    ("copy_task_paper", "es_single"): ("copy task (P = 42.8k, K = 1), ES-Single", 1000, "es_single/1000/42800"),
    ("copy_task_paper", "pes"): ("copy task (P = 42.8k, K = 1), PES", 1000, "pes/1000/42800"),
}
NETWORKS = [("InfiniBand (alpha 2 us, 10 GB/s)", 2e-6, 1e-10),
            ("10 GbE TCP (alpha 50 us, 1.2 GB/s)", 50e-6, 8e-10)]
RANKS = [8, 64, 512]


def load(path):
    rows = list(csv.DictReader(open(path)))
    out = {}
    for r in rows:
        key = (r["case"], r["method"])
        out.setdefault(key, {}).setdefault(r["layout"], []).append(r)
    return out


def median(rows, field):
    return statistics.median(float(r[field]) for r in rows)


def measured_table(data):
    lines = ["| case | method | N | 1 process x 1 thread | 1 process x 2 threads | 2 ranks x 1 thread | 2 ranks vs 1 process x 2 threads | 2 ranks vs 1 x 1 | bytes sent by rank 0 / estimate |",
             "|---|---|---|---|---|---|---|---|---|"]
    for (case, method), by in data.items():
        t = {l: median(by[l], "seconds_per_estimate") for l in ("1x1", "1x2", "2x1")}
        n = case_particles(case)
        b = median(by["2x1"], "bytes_sent_by_rank_0_per_estimate")
        lines.append(
            f"| {case} | {method} | {n} | {fmt(t['1x1'])} | {fmt(t['1x2'])} | "
            f"{fmt(t['2x1'])} | {t['1x2'] / t['2x1']:.2f}x | "
            f"{t['1x1'] / t['2x1']:.2f}x | {b:.0f} |")
    return "\n".join(lines)


def case_particles(case):
    if case.endswith("_n10"):
        return 10
    if case.endswith("_n100"):
        return 100
    return 1000


def fmt(seconds):
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} us"


def load_overhead(path):
    """BM_RankOverhead medians in seconds, keyed "method/N/P"."""
    out = {}
    for r in csv.DictReader(line for line in open(path) if "," in line):
        name = r["name"]
        if not name.startswith("BM_RankOverhead/") or not name.endswith("_median"):
            continue
        key = "/".join(name.split("/")[1:4])
        unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[r["time_unit"]]
        out[key] = float(r["real_time"]) * unit
    return out


def model_table(data, overhead):
    lines = ["| setting (paper N = 1000, 1 thread per rank) | c_pair (one core) | S (every rank) | network | "
             + " | ".join(f"R = {r}: time, speed-up" for r in RANKS) + " |",
             "|---|---|---|---|" + "---|" * len(RANKS)]
    for key, (label, n_paper, row) in TARGETS.items():
        if key not in data or row not in overhead:
            continue
        t11 = median(data[key]["1x1"], "seconds_per_estimate")
        n_m = case_particles(key[0])
        s_per_particle = overhead[row] / 1000
        c_pair = max(t11 - s_per_particle * n_m, 0.0) / (n_m // 2)
        s = s_per_particle * n_paper
        pairs = n_paper // 2
        t1 = s + c_pair * pairs
        for net, alpha, beta in NETWORKS:
            cells = []
            for r in RANKS:
                comm = math.ceil(math.log2(r)) * alpha + 16 * n_paper * beta
                t = s + c_pair * math.ceil(pairs / r) + comm
                cells.append(f"{fmt(t)}, {t1 / t:.0f}x")
            lines.append(f"| {label} | {fmt(c_pair)} | {fmt(s)} | {net} | "
                         + " | ".join(cells) + " |")
    return "\n".join(lines)


def replace(text, marker, table):
    begin, end = f"<!-- scaling:{marker} -->", f"<!-- /scaling:{marker} -->"
    i, j = text.index(begin), text.index(end)
    return text[:i + len(begin)] + "\n" + table + "\n" + text[j:]


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        ROOT, "results", "scaling", "measured")
    data = load(os.path.join(folder, "scaling.csv"))
    overhead = load_overhead(os.path.join(folder, "rank_overhead.csv"))
    measured, model = measured_table(data), model_table(data, overhead)
    print(measured)
    print()
    print(model)
    text = open(DOC).read()
    text = replace(text, "measured", measured)
    text = replace(text, "model", model)
    with open(DOC + ".tmp", "w") as f:
        f.write(text)
    os.replace(DOC + ".tmp", DOC)


if __name__ == "__main__":
    main()
