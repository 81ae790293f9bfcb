#!/usr/bin/env python3
"""Side-by-side table: our fig15_toy2d JSON beside toy2d_jax.py's JSON.

Usage:
  python compare.py --jax=jax.json [--ours=fig15_toy2d.json] [--out=table.md]

--ours may be missing or absent (our binary not built): its columns are "n/a".
Prints markdown to stdout and, with --out, writes the same markdown there.
Times are microseconds per gradient estimate; "ratio" is peer time / our time
(> 1: ours is faster). Meta-loss is the full-unroll meta-loss (sum of the T=100
inner losses from x0 = (1, 1)) at the final theta.
"""

import argparse
import json
import os
import sys

# (our method, peer key in toy2d_jax.py's JSON, peer label)
PAIRS = [
    ("es_single", "evosax_nres", "evosax NoiseReuseES (NRES)"),
    ("es_single", "listing_es_single", "paper App. H listing (JAX)"),
    ("pes", "evosax_pes", "evosax PersistentES (PES)"),
]


def _get(d, *keys):
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def _f(x, fmt):
    return "n/a" if x is None else format(x, fmt)


def _ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def build_table(jax_res, ours_res, ours_note=""):
    lines = []
    cfg = jax_res
    v = jax_res.get("versions", {})
    lines.append(
        f"Toy 2D regression (Fig. 15): T={cfg.get('T')}, K={cfg.get('K')}, "
        f"N={cfg.get('N')}, sigma={cfg.get('sigma')}, Adam lr={cfg.get('lr')}, "
        f"{cfg.get('iterations')} outer iterations, JAX {cfg.get('dtype')} on "
        f"{', '.join(cfg.get('devices', []))} ({cfg.get('cpu_count')} cores); "
        f"jax {v.get('jax')}, jaxlib {v.get('jaxlib')}, optax {v.get('optax')}, "
        f"evosax {v.get('evosax')}.")
    jax_seeds = cfg.get("seeds", [cfg.get("seed")])
    if ours_res is not None:
        runs = [r for r in ours_res.get("runs", [])
                if r.get("method") in ("es_single", "pes")]
        its = sorted({r.get("iterations") for r in runs if "iterations" in r})
        oseeds = ours_res.get("seeds", [])
        lines.append(
            f"Ours: {ours_res.get('binary', 'fig15_toy2d')} (float64 C++), "
            f"{len(oseeds)} seed(s) {oseeds}, iterations {its or '?'}; "
            f"JAX side: {len(jax_seeds)} seed(s) {jax_seeds}. Meta-losses and "
            f"times are means over each side's seeds.")
        if its and its != [cfg.get("iterations")]:
            lines.append(f"WARNING: ours ran {its} iterations, the JAX side "
                         f"{cfg.get('iterations')}.")
    if ours_note:
        lines.append(ours_note)
    lines.append("")
    lines.append(
        "| method | peer | ours meta-loss | peer meta-loss | meta-loss ratio "
        "(ours/peer) | ours us/est | peer us/est (jit per step) | ratio "
        "(peer/ours) | peer us/est (jit per step, median) | "
        "peer us/est (lax.scan) | ratio (peer/ours) |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for ours_m, peer_m, label in PAIRS:
        p = _get(jax_res, "methods", peer_m)
        if p is None:
            continue
        o = _get(ours_res, "methods", ours_m) if ours_res is not None else None
        o_loss = _get(o, "final_meta_loss")
        o_t = _get(o, "seconds_per_estimate")
        o_us = None if o_t is None else o_t * 1e6
        p_loss = p.get("final_meta_loss")
        p_us = p.get("seconds_per_estimate") * 1e6
        p_scan = p.get("seconds_per_estimate_scan") * 1e6
        p_med = p.get("seconds_per_estimate_median")
        p_med = None if p_med is None else p_med * 1e6
        lines.append(
            f"| {ours_m} | {label} | {_f(o_loss, '.3f')} | {_f(p_loss, '.3f')} | "
            f"{_f(_ratio(o_loss, p_loss), '.4f')} | {_f(o_us, '.1f')} | "
            f"{_f(p_us, '.1f')} | {_f(_ratio(p_us, o_us), '.2f')} | "
            f"{_f(p_med, '.1f')} | {_f(p_scan, '.1f')} | {_f(_ratio(p_scan, o_us), '.2f')} |")
    init = _get(jax_res, "methods", "listing_es_single", "initial_meta_loss")
    if init is None:
        for m in jax_res.get("methods", {}).values():
            init = m.get("initial_meta_loss")
            break
    lines.append("")
    lines.append(f"Meta-loss at theta0 = log(0.01, 0.01): {_f(init, '.3f')}.")
    lst = _get(jax_res, "methods", "listing_es_single", "seconds_per_estimate_grad_only")
    if lst is not None:
        lines.append(f"Listing's jitted es_single_grad alone (no Adam, per call): "
                     f"{lst * 1e6:.1f} us.")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--jax", required=True)
    ap.add_argument("--ours", default="")
    ap.add_argument("--ours_note", default="")
    ap.add_argument("--out", default="")
    a = ap.parse_args(argv)
    with open(a.jax) as f:
        jax_res = json.load(f)
    ours_res = None
    note = a.ours_note
    if a.ours and os.path.exists(a.ours):
        with open(a.ours) as f:
            ours_res = json.load(f)
    elif not note:
        note = "Our fig15_toy2d result is missing: ours columns are n/a."
    md = build_table(jax_res, ours_res, note)
    sys.stdout.write(md)
    if a.out:
        with open(a.out, "w") as f:
            f.write(md)


if __name__ == "__main__":
    main()
