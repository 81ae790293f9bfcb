#!/usr/bin/python3
"""Computes the scoreboard tables of docs/results.md and README.md from the
committed run outputs under results/.

Inputs (all committed):
  results/coverage.json             per paper figure: binary, setting and
                                    the verdict on the paper's claim
                                    (a human judgement, with one line why,
                                    citing the docs/results.md section)
  results/<binary>/<run>/<binary>.json   each committed run's sidecar

Outputs: the text between marker lines in the documents, nothing else
(the prose stays with people):
  <!-- scoreboard:coverage -->  ...  <!-- /scoreboard -->
      the coverage table (docs/results.md and README.md)
  <!-- scoreboard:runs -->  ...  <!-- /scoreboard -->
      one row per committed run: preset, commit, wall time, command
  <!-- scoreboard:run <binary>/<run> -->  ...  <!-- /scoreboard -->
      that run's per-method table from its sidecar (final meta-loss mean
      over seeds and its range, seconds per estimate)

  /usr/bin/python3 tools/scoreboard.py            # rewrite the tables
  /usr/bin/python3 tools/scoreboard.py --check    # exit 1 if any differs

//tools:scoreboard_test runs --check in `bazel test //...`.
"""

import argparse
import glob
import json
import math
import os
import re
import sys

DOCS = ("docs/results.md", "README.md")
MARK = re.compile(r"^<!-- scoreboard:(\S+)(?: (\S+))? -->$")
END = "<!-- /scoreboard -->"


def fmt(x, digits=6):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return "%.*g" % (digits, x)


def load_runs(root):
    runs = {}
    for path in sorted(glob.glob(os.path.join(root, "results", "*", "*", "*.json"))):
        binary = os.path.basename(os.path.dirname(os.path.dirname(path)))
        if os.path.basename(path) != binary + ".json":
            continue
        run = os.path.basename(os.path.dirname(path))
        with open(path) as f:
            runs["%s/%s" % (binary, run)] = json.load(f)
    return runs


def coverage_table(root, runs):
    with open(os.path.join(root, "results", "coverage.json")) as f:
        cov = json.load(f)
    lines = ["| figure | binary | committed runs (`results/`) | setting | claim reproduced | why |",
             "|---|---|---|---|---|---|"]
    for row in cov["figures"]:
        binary = row.get("binary")
        committed = sorted(k for k in runs if binary and k.split("/")[0] == binary)
        if binary:
            bin_cell = "`//experiments:%s`" % binary
            if not os.path.exists(os.path.join(root, "experiments", binary + ".cc")):
                raise SystemExit("coverage.json names %s, which has no source" % binary)
        else:
            bin_cell = "not yet"
        lines.append("| %s | %s | %s | %s | %s | %s |" % (
            row["figure"], bin_cell,
            ", ".join("`%s`" % k.split("/", 1)[1] for k in committed) or "none",
            row["setting"], row["reproduced"], row["why"]))
    return "\n".join(lines)


def portable_command(cmd, binary):
    """The command with machine-specific paths removed: the binary as
    bazel-bin/experiments/<binary>, --out_dir relative to the workspace."""
    words = cmd.split()
    if words:
        words[0] = "bazel-bin/experiments/" + binary
    out = []
    for w in words:
        if w.startswith("--out_dir=") and "results/" in w:
            w = "--out_dir=results/" + w.split("results/", 1)[1]
        out.append(w)
    return " ".join(out)


def runs_table(runs):
    lines = ["| run | preset | git commit | wall (s) | command |", "|---|---|---|---|---|"]
    for key, sc in sorted(runs.items()):
        cmd = portable_command(sc.get("command", ""), key.split("/")[0]).replace("|", "\\|")
        lines.append("| `%s` | %s | `%s` | %s | `%s` |" % (
            key, sc.get("preset", "?"), str(sc.get("git_commit", "?"))[:10],
            fmt(sc.get("wall_seconds"), 4), cmd))
    return "\n".join(lines)


def run_table(runs, key):
    if key not in runs:
        raise SystemExit("docs name the run %s, which is not committed under results/" % key)
    methods = runs[key].get("methods", {})
    if not methods:
        return "(this run's sidecar has no per-method summary; see its CSV)"
    lines = ["| method | N | seeds | final meta-loss (mean) | range over seeds | s / estimate |",
             "|---|---|---|---|---|---|"]
    for name, m in methods.items():
        per = [v for v in m.get("final_meta_loss_per_seed", []) if v is not None]
        rng = "%s ... %s" % (fmt(min(per), 5), fmt(max(per), 5)) if per else "n/a"
        lines.append("| %s | %s | %d | %s | %s | %s |" % (
            name, m.get("num_particles", ""), len(per),
            fmt(m.get("final_meta_loss")), rng, fmt(m.get("seconds_per_estimate"), 3)))
    return "\n".join(lines)


def render(text, root, runs):
    out, i, lines = [], 0, text.split("\n")
    while i < len(lines):
        m = MARK.match(lines[i])
        out.append(lines[i])
        i += 1
        if not m:
            continue
        kind, arg = m.group(1), m.group(2)
        if kind == "coverage":
            body = coverage_table(root, runs)
        elif kind == "runs":
            body = runs_table(runs)
        elif kind == "run":
            body = run_table(runs, arg)
        else:
            raise SystemExit("unknown scoreboard marker %r" % lines[i - 1])
        while i < len(lines) and lines[i] != END:
            i += 1
        if i == len(lines):
            raise SystemExit("marker %r has no %s" % (m.group(0), END))
        out.extend(body.split("\n"))
        out.append(END)
        i += 1
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()
    runs = load_runs(a.root)
    stale = []
    for doc in DOCS:
        path = os.path.join(a.root, doc)
        with open(path) as f:
            old = f.read()
        new = render(old, a.root, runs)
        if new != old:
            if a.check:
                stale.append(doc)
            else:
                with open(path, "w") as f:
                    f.write(new)
                print("updated", doc)
    if stale:
        print("scoreboard tables differ from the committed results in: %s\n"
              "run: /usr/bin/python3 tools/scoreboard.py" % ", ".join(stale))
        return 1
    if a.check:
        print("scoreboard: %d committed runs; every table matches" % len(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
