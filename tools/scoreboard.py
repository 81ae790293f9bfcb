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
  <!-- scoreboard:trajectory <binary>/<run> FROM [COLUMN] -->  ...
      from the run's <binary>.csv, one row per method, N and seed: final
      theta, final and best meta-loss, and COLUMN (default meta_loss) over
      the recorded iterations >= FROM: mean / sd / min / max
  <!-- scoreboard:series <binary>/<run> SUFFIX COLUMN FROM -->  ...
      from <binary>SUFFIX.csv (e.g. _lr), per method and seed: COLUMN's
      final value and its mean / sd / min / max over iterations >= FROM
  <!-- scoreboard:grid <binary>/<run> -->  ...
      the run's meta-loss grid (<binary>_grid.csv): its minimum and where,
      and the meta-loss at the run's start theta (iteration 0)
  <!-- scoreboard:grads <binary>/<run> EARLY LATE -->  ...
      Fig. 19's gradient table (<binary>_grads.csv): per method, seed and
      inner problem, the sd of the estimates at inner steps < EARLY and
      >= LATE, and the largest absolute estimate
  <!-- scoreboard:online <binary>/<run> -->  ...
      Fig. 26's online training loss (<binary>_online.csv): the last
      evaluation window's mean per method and seed

Figures: docs/figures/figures.json lists every committed PNG with the plot
command that draws it from results/. `--figures` runs those commands, traces
which results/ files each plot opened, and records their SHA-256 and the
PNG's in the manifest. Git keeps no file times, so "a PNG older than its
data" is decided by content: --check fails when a recorded input's hash
differs (the data changed and the PNG was not redrawn), when the PNG's hash
differs from the one drawn, when a PNG under docs/figures/ is not in the
manifest, or when a document shows a figures/*.png that is not there.

  /usr/bin/python3 tools/scoreboard.py            # rewrite the tables
  /usr/bin/python3 tools/scoreboard.py --figures  # redraw the stale PNGs
  /usr/bin/python3 tools/scoreboard.py --figures all   # redraw every PNG
  /usr/bin/python3 tools/scoreboard.py --figures fig5_influence.png ...
  /usr/bin/python3 tools/scoreboard.py --draw_run fig5_influence/quick
                                     # any run's PNG into its own folder
  /usr/bin/python3 tools/scoreboard.py --check    # exit 1 if any table or
                                                  # PNG is stale

//tools:source_tree_test runs --check in `bazel test //...` (it needs no
matplotlib: it only hashes files).
"""

import argparse
import csv
import glob
import hashlib
import json
import math
import os
import re
import subprocess
import sys
import tempfile

DOCS = ("docs/results.md", "README.md")
MARK = re.compile(r"^<!-- scoreboard:(\S+)((?: \S+)*) -->$")
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


def read_csv(root, key, suffix=""):
    binary = key.split("/")[0]
    path = os.path.join(root, "results", key, binary + suffix + ".csv")
    if not os.path.exists(path):
        raise SystemExit("docs name %s, which is not committed" % os.path.relpath(path, root))
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def stats(xs):
    """mean, population sd, min, max."""
    m = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs))
    if sd <= 1e-12 * max(1.0, abs(m)):  # all equal up to rounding
        sd = 0.0
    return m, sd, min(xs), max(xs)


def trajectory_table(root, key, args):
    start = float(args[0]) if args else 0.0
    column = args[1] if len(args) > 1 else "meta_loss"
    rows = read_csv(root, key)
    thetas = sorted((k for k in rows[0] if k.startswith("theta_")), key=lambda k: int(k[6:]))
    groups = {}
    for r in rows:
        groups.setdefault((r["method"], r.get("num_particles", ""), int(r["seed"])), []).append(r)
    lines = ["| method | N | seed | final theta | final meta-loss | best meta-loss | %s over iterations >= %s: mean / sd / min / max |"
             % (column.replace("_", " "), fmt(start)),
             "|---|---|---|---|---|---|---|"]
    for (method, n, seed), rs in groups.items():
        rs.sort(key=lambda r: float(r["iteration"]))
        last = rs[-1]
        window = [float(r[column]) for r in rs if float(r["iteration"]) >= start]
        w = "%s / %s / %s / %s" % tuple(fmt(v, 4) for v in stats(window)) if window else "n/a"
        lines.append("| %s | %s | %d | (%s) | %s | %s | %s |" % (
            method, n, seed, ", ".join(fmt(float(last[t]), 3) for t in thetas),
            fmt(float(last["meta_loss"]), 4),
            fmt(min(float(r["meta_loss"]) for r in rs), 4), w))
    return "\n".join(lines)


def series_table(root, key, args):
    suffix, column, start = args[0], args[1], float(args[2])
    rows = read_csv(root, key, suffix)
    groups = {}
    for r in rows:
        groups.setdefault((r["method"], int(r["seed"])), []).append(r)
    lines = ["| method | seed | final %s | %s over iterations >= %s: mean / sd / min / max |"
             % (column, column, fmt(start)), "|---|---|---|---|"]
    for (method, seed), rs in groups.items():
        rs.sort(key=lambda r: float(r["iteration"]))
        window = [float(r[column]) for r in rs if float(r["iteration"]) >= start]
        w = "%s / %s / %s / %s" % tuple(fmt(v, 4) for v in stats(window)) if window else "n/a"
        lines.append("| %s | %d | %s | %s |" % (method, seed, fmt(float(rs[-1][column]), 4), w))
    return "\n".join(lines)


def grid_table(root, key):
    grid = read_csv(root, key, "_grid")
    rows = read_csv(root, key)
    thetas = sorted((k for k in grid[0] if k.startswith("theta_")), key=lambda k: int(k[6:]))
    best = min(grid, key=lambda r: float(r["meta_loss"]))
    first = min(rows, key=lambda r: float(r["iteration"]))
    return "\n".join([
        "| grid points | meta-loss at the start (%s) | grid minimum | at |" % ", ".join(
            fmt(float(first[t]), 3) for t in thetas),
        "|---|---|---|---|",
        "| %d | %s | %s | (%s) |" % (len(grid), fmt(float(first["meta_loss"]), 4),
                                   fmt(float(best["meta_loss"]), 4),
                                   ", ".join(fmt(float(best[t]), 3) for t in thetas))])


def grads_table(root, key, args):
    early, late = float(args[0]), float(args[1])
    rows = read_csv(root, key, "_grads")
    series = {}
    for r in rows:
        series.setdefault((r["method"], int(r["seed"])), []).append(
            (int(r["iteration"]), float(r["inner_step"]), float(r["gradient"])))
    body, most = [], 0
    for (method, seed), rs in series.items():
        rs.sort()
        problems, prev = [], None
        for _, step, g in rs:
            if prev is None or step < prev:
                problems.append([])
            problems[-1].append((step, g))
            prev = step
        most = max(most, len(problems))
        cells = []
        for p in problems:
            e = [g for st, g in p if st < early]
            l = [g for st, g in p if st >= late]
            cells.append("%s / %s" % (fmt(stats(e)[1], 3) if e else "n/a",
                                      fmt(stats(l)[1], 3) if l else "n/a"))
        body.append((method, seed, cells, max(abs(g) for _, _, g in rs)))
    lines = ["| method | seed | %s | max abs |" % " | ".join(
                 "inner problem %d: sd early / late" % (i + 1) for i in range(most)),
             "|---|---|%s---|" % ("---|" * most)]
    for method, seed, cells, mx in body:
        cells = cells + ["-"] * (most - len(cells))
        lines.append("| %s | %d | %s | %s |" % (method, seed, " | ".join(cells), fmt(mx, 3)))
    return "\n".join(lines)


def online_table(root, key):
    rows = read_csv(root, key, "_online")
    last = {}
    for r in rows:
        k = (r["method"], int(r["seed"]))
        if k not in last or float(r["iteration"]) > float(last[k]["iteration"]):
            last[k] = r
    lines = ["| method | seed | last iteration | online mean training loss, last window |",
             "|---|---|---|---|"]
    for (method, seed), r in last.items():
        lines.append("| %s | %d | %s | %s |" % (method, seed, r["iteration"],
                                              fmt(float(r["online_mean_train_loss"]), 3)))
    return "\n".join(lines)


def render(text, root, runs):
    out, i, lines = [], 0, text.split("\n")
    while i < len(lines):
        m = MARK.match(lines[i])
        out.append(lines[i])
        i += 1
        if not m:
            continue
        kind = m.group(1)
        args = m.group(2).split()
        arg = args[0] if args else None
        if kind in ("run", "trajectory", "series", "grid", "grads", "online") and arg not in runs:
            raise SystemExit("docs name the run %s, which is not committed under results/" % arg)
        if kind == "coverage":
            body = coverage_table(root, runs)
        elif kind == "runs":
            body = runs_table(runs)
        elif kind == "run":
            body = run_table(runs, arg)
        elif kind == "trajectory":
            body = trajectory_table(root, arg, args[1:])
        elif kind == "series":
            body = series_table(root, arg, args[1:])
        elif kind == "grid":
            body = grid_table(root, arg)
        elif kind == "grads":
            body = grads_table(root, arg, args[1:])
        elif kind == "online":
            body = online_table(root, arg)
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


FIGURES_JSON = "docs/figures/figures.json"
PYTHON = "/usr/bin/python3"  # Debian's, with matplotlib (docs/toolchain notes)

# Runs one plot script as __main__ with open() traced; writes the paths it
# opened for reading to the file named by argv[1].
TRACER = r"""
import builtins, io, json, os, runpy, sys
record, script = sys.argv[1], sys.argv[2]
opened = set()
real_open = builtins.open
def traced(file, mode="r", *a, **k):
    if isinstance(file, (str, bytes, os.PathLike)) and not any(c in mode for c in "wax+"):
        opened.add(os.path.relpath(os.path.abspath(os.fsdecode(file))))
    return real_open(file, mode, *a, **k)
builtins.open = io.open = traced
sys.argv = sys.argv[2:]
status = 0
try:
    runpy.run_path(script, run_name="__main__")
except SystemExit as e:
    status = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
finally:
    builtins.open = io.open = real_open
    with real_open(record, "w") as f:
        json.dump(sorted(opened), f)
sys.exit(status)
"""


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_figures(root):
    with open(os.path.join(root, FIGURES_JSON)) as f:
        return json.load(f)


def save_figures(root, doc):
    with open(os.path.join(root, FIGURES_JSON), "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


def figure_problems(root, entry):
    """Why this committed PNG is stale (empty: it is current)."""
    png = entry["png"]
    if not os.path.exists(os.path.join(root, png)):
        return ["%s is missing" % png]
    if not entry.get("inputs") or not entry.get("png_sha256"):
        return ["%s was never drawn by tools/scoreboard.py --figures" % png]
    out = []
    if entry.get("drawn_with") != entry["plot"]:
        out.append("%s: its plot command changed since it was drawn" % png)
    for path, digest in sorted(entry["inputs"].items()):
        full = os.path.join(root, path)
        if not os.path.exists(full):
            out.append("%s: its data %s is gone" % (png, path))
        elif sha256(full) != digest:
            out.append("%s is older than its data: %s changed since it was drawn" % (png, path))
    if sha256(os.path.join(root, png)) != entry["png_sha256"]:
        out.append("%s is not the PNG tools/scoreboard.py drew (edited or drawn by hand)" % png)
    return out


def check_figures(root):
    doc = load_figures(root)
    listed = {e["png"] for e in doc["figures"]}
    problems = []
    for e in doc["figures"]:
        problems += figure_problems(root, e)
    for path in sorted(glob.glob(os.path.join(root, "docs", "figures", "*.png"))):
        rel = os.path.relpath(path, root)
        if rel not in listed:
            problems.append("%s is not in %s (no known data)" % (rel, FIGURES_JSON))
    for doc_path in DOCS:
        with open(os.path.join(root, doc_path)) as f:
            text = f.read()
        for name in sorted(set(re.findall(r"figures/([\w.-]+\.png)", text))):
            if "docs/figures/" + name not in listed:
                problems.append("%s shows figures/%s, which is not a committed figure" % (doc_path, name))
    return problems, len(listed)


def draw_figures(root, which):
    """Redraws the PNGs named in `which` ("stale", "all" or PNG names)."""
    doc = load_figures(root)
    by_name = {os.path.basename(e["png"]): e for e in doc["figures"]}
    if which in (["stale"], ["all"]):
        todo = [e for e in doc["figures"]
                if which == ["all"] or figure_problems(root, e)]
    else:
        unknown = [w for w in which if w not in by_name]
        if unknown:
            raise SystemExit("--figures: unknown PNG %s (known: %s)"
                             % (", ".join(unknown), ", ".join(sorted(by_name))))
        todo = [by_name[w] for w in which]
    failed = []
    for e in todo:
        out_dir = os.path.dirname(e["png"])
        with tempfile.NamedTemporaryFile(suffix=".json") as rec:
            cmd = [PYTHON, "-c", TRACER, rec.name] + e["plot"] + ["--out", out_dir]
            print("drawing %s: %s" % (e["png"], " ".join(e["plot"])), flush=True)
            r = subprocess.run(cmd, cwd=root)
            with open(rec.name) as f:
                opened = json.load(f)
        inputs = sorted(p for p in opened if p.startswith("results" + os.sep))
        if r.returncode != 0 or not inputs or not os.path.exists(os.path.join(root, e["png"])):
            print("!! %s: the plot failed (exit %d, %d results/ files read)"
                  % (e["png"], r.returncode, len(inputs)), file=sys.stderr)
            failed.append(e["png"])
            continue
        e["inputs"] = {p: sha256(os.path.join(root, p)) for p in inputs}
        e["png_sha256"] = sha256(os.path.join(root, e["png"]))
        e["drawn_with"] = list(e["plot"])
        save_figures(root, doc)  # after each PNG, so an interrupted run keeps its work
    print("figures: %d drawn, %d failed%s" % (len(todo) - len(failed), len(failed),
          (": " + ", ".join(failed)) if failed else ""))
    return 1 if failed else 0


def draw_run(root, key):
    """Draws results/<binary>/<run>/ with its binary's plot command (the
    manifest's run_plots) into that run's own folder."""
    binary, _, run = key.partition("/")
    plots = load_figures(root).get("run_plots", {})
    if binary not in plots or not run:
        raise SystemExit("--draw_run: want <binary>/<run> with binary one of %s, got %r"
                         % (", ".join(sorted(plots)), key))
    out = os.path.join("results", binary, run)
    argv = [w.replace("{binary}", binary).replace("{run}", run) for w in plots[binary]]
    r = subprocess.run([PYTHON] + argv + ["--out", out], cwd=root)
    return r.returncode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--figures", nargs="*", metavar="PNG",
                    help="redraw PNGs instead of the tables: none named = the "
                    "stale ones, 'all', or file names such as fig5_influence.png")
    ap.add_argument("--draw_run", metavar="BINARY/RUN",
                    help="draw results/BINARY/RUN/ into that folder (any run, committed or not)")
    a = ap.parse_args()
    a.root = os.path.abspath(a.root)
    if a.draw_run:
        return draw_run(a.root, a.draw_run)
    if a.figures is not None:
        return draw_figures(a.root, a.figures or ["stale"])
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
    status = 0
    if stale:
        print("scoreboard tables differ from the committed results in: %s\n"
              "run: /usr/bin/python3 tools/scoreboard.py" % ", ".join(stale))
        status = 1
    elif a.check:
        print("scoreboard: %d committed runs; every table matches" % len(runs))
    if a.check:
        problems, n = check_figures(a.root)
        if problems:
            print("figures: %d problem(s):\n  %s\nrun: /usr/bin/python3 tools/scoreboard.py --figures"
                  % (len(problems), "\n  ".join(problems)))
            status = 1
        else:
            print("figures: %d committed PNGs, each drawn from the current data" % n)
    return status


if __name__ == "__main__":
    sys.exit(main())
