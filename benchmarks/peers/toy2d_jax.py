#!/usr/bin/env python3
"""Toy 2D regression (ES-Single paper, App. C / Fig. 15) in the JAX ecosystem.

Side-by-side peer for //experiments:fig15_toy2d; NOT part of `bazel test`.
Runs, with the paper's Fig. 15 settings (T=100, K=10, N=100 particles = 50
antithetic pairs, sigma=0.3, Adam lr 0.01, theta0 = log(0.01, 0.01)):

  evosax_nres    evosax.algorithms.NoiseReuseES   (NRES = ES-Single)
  evosax_pes     evosax.algorithms.PersistentES   (PES)
  listing_es_single  the paper's Appendix H listing (ES-Single), with a fresh
                 key per inner problem and xs reset at t >= T, exactly as the
                 listing's training loop does.

For each it reports the final full-unroll meta-loss (sum of the T inner losses
from x0 = (1, 1), the listing's evaluation `unroll(x0, theta, 0, T, T)`) and
the wall time per gradient estimate after JIT warm-up:

  seconds_per_estimate       one outer iteration = one jitted call (estimate
                             + Adam update + inner-state bookkeeping) issued
                             from a Python loop, block_until_ready after every
                             call; mean over the whole training run (and
                             seconds_per_estimate_median). This is how the
                             listing / evosax examples are used.
  seconds_per_estimate_scan  the same training run compiled into one
                             jax.lax.scan (no Python dispatch): total / iters,
                             fastest of --scan_repeats runs.
  seconds_per_estimate_grad_only (listing only) the listing's jitted
                             `es_single_grad` alone, block_until_ready per call
                             -- the closest match to our estimator Step timing.

Both timing modes use the same keys and produce the same theta (checked and
reported as `scan_matches_loop`).

Usage:
  python toy2d_jax.py --iterations=5000 [--seeds=3[,4,...]] [--sigma=0.3] [--x64]
                      [--methods=evosax_nres,evosax_pes,listing_es_single]
                      [--out=result.json]
"""

import argparse
import json
import os
import platform
import sys
import time
from functools import partial

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402

ALL_METHODS = ("evosax_nres", "evosax_pes", "listing_es_single")


# --------------------------------------------------------------------------
# The inner problem, verbatim from the paper's Appendix H listing.
# --------------------------------------------------------------------------
def loss(x):
    """Inner loss."""
    return (jnp.sqrt(x[0] ** 2 + 5) - jnp.sqrt(5)
            + jnp.sin(x[1]) ** 2 * jnp.exp(-5 * x[0] ** 2)
            + 0.25 * jnp.abs(x[1] - 100))


loss_grad = jax.grad(loss)


def update(state, i):
    """A single inner step (listing)."""
    (L, x, theta, t_curr, T, K) = state
    lr = jnp.exp(theta[0]) * (T - t_curr) / T + jnp.exp(theta[1]) * t_curr / T
    x = x - lr * loss_grad(x)
    L += loss(x) * (t_curr < T)
    t_curr += 1
    return (L, x, theta, t_curr, T, K), x


@partial(jax.jit, static_argnames=("T", "K"))
def unroll(x_init, theta, t0, T, K):
    """Unroll the inner problem for K steps from t0 (listing)."""
    L = jnp.zeros((), x_init.dtype)
    initial_state = (L, x_init, theta, t0, T, K)
    state, _ = jax.lax.scan(update, initial_state, None, length=K)
    (L, x_curr, theta, t_curr, T, K) = state
    return L, x_curr


@partial(jax.jit, static_argnames=("T", "K", "sigma", "N"))
def es_single_grad(key, xs, theta, t0, T, K, sigma, N):
    """ES-Single gradient estimate (listing, verbatim)."""
    pos_perts = jax.random.normal(key, (N // 2, theta.shape[0]), theta.dtype) * sigma
    neg_perts = -pos_perts
    perts = jnp.concatenate([pos_perts, neg_perts], axis=0)
    L, xs = jax.vmap(unroll, in_axes=(0, 0, None, None, None))(
        xs, theta + perts, t0, T, K)
    theta_grad = jnp.mean(perts * L.reshape(-1, 1) / (sigma ** 2), axis=0)
    return theta_grad, xs


def meta_loss(theta, T, dtype):
    """Full-unroll meta-loss: sum of the T inner losses from x0 = (1, 1)."""
    L, _ = unroll(jnp.array([1.0, 1.0], dtype), theta, 0, T, T)
    return float(L)


# --------------------------------------------------------------------------
# Method drivers. Each returns (init_carry, step) with step: carry -> carry a
# pure function, so the same step can be called per iteration from Python or
# inside lax.scan; theta_of(carry) extracts theta.
# --------------------------------------------------------------------------
def make_listing(cfg, key):
    T, K, N, sigma, dtype = cfg["T"], cfg["K"], cfg["N"], cfg["sigma"], cfg["dtype"]
    x0 = jnp.array([1.0, 1.0], dtype)
    theta0 = jnp.log(jnp.array([0.01, 0.01], dtype))
    optimizer = optax.adam(cfg["lr"])
    # The listing starts with key = PRNGKey(seed) and, at every inner-problem
    # reset, does `key, skey = split(key)` and keeps using `key`: one fresh
    # perturbation key per inner problem, the same key for all its K-step
    # truncations (that is ES-Single's noise reuse).
    carry = dict(theta=theta0, opt_state=optimizer.init(theta0),
                 xs=jnp.ones((N, 2), dtype) * x0, t=jnp.array(0, jnp.int32),
                 key=key)

    def step(c):
        reset = c["t"] >= T
        new_key, _ = jax.random.split(c["key"])
        key = jnp.where(reset, new_key, c["key"])  # legacy uint32 keys
        t = jnp.where(reset, 0, c["t"])
        xs = jnp.where(reset, jnp.ones_like(c["xs"]) * x0, c["xs"])
        g, xs = es_single_grad(key, xs, c["theta"], t, T, K, sigma, N)
        updates, opt_state = optimizer.update(g, c["opt_state"])
        theta = optax.apply_updates(c["theta"], updates)
        return dict(theta=theta, opt_state=opt_state, xs=xs, t=t + K, key=key)

    def theta_of(c):
        return c["theta"]

    return carry, step, theta_of


def make_evosax(cfg, key, which):
    from evosax.algorithms import NoiseReuseES, PersistentES
    T, K, N, sigma, dtype = cfg["T"], cfg["K"], cfg["N"], cfg["sigma"], cfg["dtype"]
    x0 = jnp.array([1.0, 1.0], dtype)
    theta0 = jnp.log(jnp.array([0.01, 0.01], dtype))
    cls = NoiseReuseES if which == "nres" else PersistentES
    strategy = cls(population_size=N, solution=theta0,
                   optimizer=optax.adam(cfg["lr"]),
                   std_schedule=optax.constant_schedule(sigma))
    params = strategy.default_params.replace(T=T, K=K)
    key, init_key = jax.random.split(key)
    es_state = strategy.init(init_key, theta0, params)
    carry = dict(es=es_state, xs=jnp.ones((N, 2), dtype) * x0,
                 t=jnp.array(0, jnp.int32), key=key)

    def step(c):
        # Our inner clock mirrors evosax's inner_step_counter (both start at 0
        # and advance by K, wrapping at T): on wrap the particles restart from
        # x0; NRES then draws new perturbations in ask, PES zeroes its
        # accumulator in tell.
        reset = c["t"] >= T
        t = jnp.where(reset, 0, c["t"])
        xs = jnp.where(reset, jnp.ones_like(c["xs"]) * x0, c["xs"])
        key, ask_key, tell_key = jax.random.split(c["key"], 3)
        population, es = strategy.ask(ask_key, c["es"], params)
        fitness, xs = jax.vmap(unroll, in_axes=(0, 0, None, None, None))(
            xs, population, t, T, K)
        es, _ = strategy.tell(tell_key, population, fitness, es, params)
        return dict(es=es, xs=xs, t=t + K, key=key)

    def theta_of(c):
        return strategy.get_mean(c["es"])

    return carry, step, theta_of


def run_method(name, cfg, seed):
    key = jax.random.PRNGKey(seed)
    if name == "listing_es_single":
        carry0, step, theta_of = make_listing(cfg, key)
    elif name == "evosax_nres":
        carry0, step, theta_of = make_evosax(cfg, key, "nres")
    elif name == "evosax_pes":
        carry0, step, theta_of = make_evosax(cfg, key, "pes")
    else:
        raise ValueError(f"unknown method {name}")
    iters = cfg["iterations"]
    T, dtype = cfg["T"], cfg["dtype"]

    # Give the initial carry exactly the types (dtype, weak_type) that step
    # returns, so the timed loop never recompiles (evosax's init leaves Python
    # ints and weakly typed scalars in its state).
    shapes = jax.eval_shape(step, carry0)
    carry0 = jax.tree.map(
        lambda x, s: jax.lax.convert_element_type(jnp.asarray(x), s.dtype)
        if not s.weak_type else jnp.asarray(x), carry0, shapes)

    # (1) Python loop of jitted steps. Warm up (compile) on a throwaway copy.
    step_jit = jax.jit(step)
    jax.block_until_ready(step_jit(step_jit(carry0)))
    n_compiled = step_jit._cache_size() if hasattr(step_jit, "_cache_size") else -1
    c = carry0
    calls = []
    t_start = time.perf_counter()
    for _ in range(iters):
        t0 = time.perf_counter()
        c = step_jit(c)
        jax.block_until_ready(c)
        calls.append(time.perf_counter() - t0)
    loop_wall = time.perf_counter() - t_start
    if hasattr(step_jit, "_cache_size") and step_jit._cache_size() != n_compiled:
        print(f"[toy2d_jax] WARNING: {name}: step recompiled inside the timed loop",
              file=sys.stderr)
    theta_loop = theta_of(c)

    # (2) The whole run in one lax.scan.
    @jax.jit
    def train(c0):
        def body(c, _):
            return step(c), None
        c, _ = jax.lax.scan(body, c0, None, length=iters)
        return c

    jax.block_until_ready(train(carry0))  # compile + warm-up
    scan_walls = []
    for _ in range(cfg["scan_repeats"]):  # best of a few: the machine is shared
        t0 = time.perf_counter()
        c_scan = jax.block_until_ready(train(carry0))
        scan_walls.append(time.perf_counter() - t0)
    scan_wall = min(scan_walls)
    theta_scan = theta_of(c_scan)

    out = dict(
        final_meta_loss=meta_loss(theta_loop, T, dtype),
        final_theta=[float(v) for v in theta_loop],
        final_lr=[float(v) for v in jnp.exp(theta_loop)],
        initial_meta_loss=meta_loss(jnp.log(jnp.array([0.01, 0.01], dtype)), T, dtype),
        seconds_per_estimate=sum(calls) / iters,
        seconds_per_estimate_median=sorted(calls)[iters // 2],
        seconds_per_estimate_loop_wall=loop_wall / iters,
        seconds_per_estimate_scan=scan_wall / iters,
        final_meta_loss_scan=meta_loss(theta_scan, T, dtype),
        scan_matches_loop=bool(jnp.allclose(theta_loop, theta_scan,
                                            rtol=1e-4, atol=1e-5)),
    )

    if name == "listing_es_single":
        # (3) The listing's es_single_grad alone, as a per-call latency.
        N, K, sigma = cfg["N"], cfg["K"], cfg["sigma"]
        k = jax.random.PRNGKey(seed)
        xs = jnp.ones((N, 2), dtype)
        th = jnp.log(jnp.array([0.01, 0.01], dtype))
        jax.block_until_ready(es_single_grad(k, xs, th, 0, T, K, sigma, N))
        reps = max(200, min(iters, 5000))
        tot = 0.0
        t = 0
        for _ in range(reps):
            if t >= T:
                t = 0
                xs = jnp.ones((N, 2), dtype)
            t0 = time.perf_counter()
            g, xs = es_single_grad(k, xs, th, t, T, K, sigma, N)
            jax.block_until_ready((g, xs))
            tot += time.perf_counter() - t0
            t += K
        out["seconds_per_estimate_grad_only"] = tot / reps
    return out


def _aggregate(per_seed, seeds):
    """Means over seeds of the numeric fields; per-seed lists kept."""
    if len(per_seed) == 1:
        r = dict(per_seed[0])
        r["final_meta_loss_per_seed"] = [r["final_meta_loss"]]
        return r
    r = {}
    for k, v in per_seed[0].items():
        vals = [p[k] for p in per_seed]
        if isinstance(v, bool):
            r[k] = all(vals)
        elif isinstance(v, (int, float)):
            r[k] = sum(vals) / len(vals)
        elif isinstance(v, list):
            r[k] = [sum(c) / len(c) for c in zip(*vals)]
    r["final_meta_loss_per_seed"] = [p["final_meta_loss"] for p in per_seed]
    r["seeds"] = seeds
    return r


def _version(pkg):
    from importlib import metadata
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return "not installed"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=5000,
                    help="outer iterations (the listing uses 10000)")
    ap.add_argument("--seeds", default="3",
                    help="comma-separated PRNGKey seeds (listing: 3); with several, "
                         "final_meta_loss and the times are means over seeds")
    ap.add_argument("--sigma", type=float, default=0.3,
                    help="perturbation std (App. C: 0.3; the listing prints 0.1)")
    ap.add_argument("--T", type=int, default=100)
    ap.add_argument("--K", type=int, default=10)
    ap.add_argument("--N", type=int, default=100, help="particles (N//2 antithetic pairs)")
    ap.add_argument("--lr", type=float, default=0.01, help="Adam learning rate")
    ap.add_argument("--scan_repeats", type=int, default=3,
                    help="time the scan run this many times, keep the fastest")
    ap.add_argument("--x64", action="store_true", help="float64 (default: JAX's float32)")
    ap.add_argument("--methods", default=",".join(ALL_METHODS))
    ap.add_argument("--out", default="", help="write JSON here (always also to stdout)")
    a = ap.parse_args(argv)
    if a.x64:
        jax.config.update("jax_enable_x64", True)
    if a.N % 2 or a.T % a.K:
        ap.error("N must be even and K must divide T")
    seeds = [int(x) for x in a.seeds.split(",") if x.strip()]
    if not seeds:
        ap.error("--seeds is empty")
    methods = [m for m in a.methods.split(",") if m]
    for m in methods:
        if m not in ALL_METHODS:
            ap.error(f"unknown method {m}; choose from {ALL_METHODS}")

    cfg = dict(T=a.T, K=a.K, N=a.N, sigma=a.sigma, lr=a.lr, iterations=a.iterations,
               scan_repeats=max(1, a.scan_repeats),
               dtype=jnp.float64 if a.x64 else jnp.float32)
    result = dict(
        task="toy2d", T=a.T, K=a.K, N=a.N, sigma=a.sigma, lr=a.lr,
        iterations=a.iterations, seeds=seeds, dtype="float64" if a.x64 else "float32",
        versions=dict(python=platform.python_version(),
                      **{p: _version(p) for p in ("jax", "jaxlib", "optax",
                                                  "evosax", "flax", "numpy")}),
        devices=[str(d) for d in jax.devices()],
        cpu_count=os.cpu_count(),
        methods={},
    )
    for m in methods:
        print(f"[toy2d_jax] running {m} for {a.iterations} iterations ...",
              file=sys.stderr, flush=True)
        per_seed = [run_method(m, cfg, sd) for sd in seeds]
        r = _aggregate(per_seed, seeds)
        print(f"[toy2d_jax]   {m}: final meta-loss {r['final_meta_loss']:.4f}, "
              f"{r['seconds_per_estimate'] * 1e6:.1f} us/estimate (jit per step), "
              f"{r['seconds_per_estimate_scan'] * 1e6:.1f} us/estimate (scan)",
              file=sys.stderr, flush=True)
        result["methods"][m] = r
    text = json.dumps(result, indent=2)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
