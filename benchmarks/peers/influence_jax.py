#!/usr/bin/env python3
"""Influence balancing (ES-Single paper Sec. 4.1 / App. C, Fig. 5) in JAX (CPU).

Peer of //inner:influence_balancing_benchmark (BM_EsSingleStep/4 and /1000);
NOT part of `bazel test`. The inner problem of inner/influence_balancing.h:
s_{t+1} = A s_t + theta b, s_0 = ones(23), A[i][i] = A[i][i+1] = 0.5,
b = (+1 x 10, -1 x 13), loss L_t = 0.5 (s_t[0] - 1)^2; never-ending, so
ES-Single draws its N/2 antithetic perturbations once and keeps them. One
outer iteration = one ES-Single estimate with K = 1 (N particles step once,
grad = mean(eps * L) / sigma^2) + an Adam step (lr 1e-3), as Fig. 5. The
whole training run is compiled into one lax.scan; reported:
seconds_per_estimate_scan = total / iterations, best of --repeats runs
(the machine may be shared), after a compile run.

Usage:
  JAX_PLATFORMS=cpu python influence_jax.py [--N=4,1000] [--iterations=3000]
      [--repeats=3] [--x64] [--out=result.json]
"""

import argparse
import json
import os
import platform
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402

N_STATE = 23
P_POS = 10
SIGMA = 0.1
THETA0 = 0.5


def make_run(N, iterations, dtype):
    b = jnp.concatenate([jnp.ones(P_POS), -jnp.ones(N_STATE - P_POS)]).astype(dtype)
    opt = optax.adam(1e-3)

    def step_state(s, theta):  # s [23], theta scalar
        shifted = jnp.concatenate([s[1:], jnp.zeros((1,), s.dtype)])
        return 0.5 * s + 0.5 * shifted + theta * b

    def iteration(carry, _):
        theta, opt_state, s, eps = carry
        thetas = theta + eps                                   # [N]
        s = jax.vmap(step_state)(s, thetas)                    # [N, 23]
        L = 0.5 * (s[:, 0] - 1.0) ** 2                         # [N]
        g = jnp.mean(eps * L) / SIGMA ** 2
        updates, opt_state = opt.update(g[None], opt_state)
        theta = optax.apply_updates(theta[None], updates)[0]
        return (theta, opt_state, s, eps), L[0]

    @jax.jit
    def run(key):
        pos = jax.random.normal(key, (N // 2,), dtype) * SIGMA
        eps = jnp.concatenate([pos, -pos])
        theta = jnp.asarray(THETA0, dtype)
        carry = (theta, opt.init(theta[None]), jnp.ones((N, N_STATE), dtype), eps)
        carry, _ = jax.lax.scan(iteration, carry, None, length=iterations)
        return carry[0]

    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--N", default="4,1000")
    ap.add_argument("--iterations", type=int, default=3000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--x64", action="store_true", help="float64 (default float32)")
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    if a.x64:
        jax.config.update("jax_enable_x64", True)
    dtype = jnp.float64 if a.x64 else jnp.float32
    ns = [int(n) for n in a.N.split(",")]
    if any(n < 2 or n % 2 for n in ns):
        ap.error(f"--N must be even numbers >= 2, got {a.N}")
    result = {"versions": {"python": platform.python_version(), "jax": jax.__version__},
              "dtype": "float64" if a.x64 else "float32", "iterations": a.iterations,
              "runs": []}
    for n in ns:
        run = make_run(n, a.iterations, dtype)
        key = jax.random.PRNGKey(0)
        final = float(run(key))  # compile + first run
        best = float("inf")
        for _ in range(max(1, a.repeats)):
            start = time.perf_counter()
            jax.block_until_ready(run(key))
            best = min(best, time.perf_counter() - start)
        r = {"N": n, "seconds_per_estimate_scan": best / a.iterations, "final_theta": final}
        print(f"[influence_jax] N={n}: {1e6 * r['seconds_per_estimate_scan']:.2f} us per "
              f"estimate (whole run in lax.scan, best of {a.repeats}); final theta {final:.4f}",
              flush=True)
        result["runs"].append(r)
    text = json.dumps(result, indent=2)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
