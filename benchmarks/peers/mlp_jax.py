#!/usr/bin/env python3
"""ES-Single estimate on the paper's MLP hyperparameter problems in JAX (CPU).

Peer of //inner/mlp:mlp_hpo_benchmark (BM_EsSingleManyHparams,
BM_EsSingleLrSchedule); NOT part of `bazel test`. Same work per inner step as
inner/mlp/mlp_hpo.h, float32:

  fig9  784-100x5-10 MLP, 29 hyperparameters (kPerBlock): per block (each W_l
        and b_l) a learning rate exp(theta) and a momentum sigmoid(theta), per
        hidden layer a width clamp(round(sigmoid(theta) * 100), 10, 100) applied
        as a mask (nested dropout; the full 100 units are computed, as ours);
        objective: sum over steps of the validation loss after the update
        (one extra forward per step on a validation minibatch).
  fig7  784-100-100-10, theta = (log init LR, log LR decay), alpha_t =
        exp(theta0) / (1 + t / 5000)^exp(theta1), momentum 0.9; objective: sum
        of the training losses (no validation forward).

Per inner step, per particle: gather a minibatch of B = 100 examples (shared by
all particles, lockstep, as ours: indices drawn per step), forward + backward
of the softmax cross-entropy, heavy-ball momentum v <- mu v + g, w <- w -
alpha v (PyTorch style), and for fig9 the validation forward. One estimate =
N particles (N/2 antithetic pairs, the perturbation fixed per inner problem:
ES-Single) x K = 10 steps, then mean(eps * L) / sigma^2. The whole estimate is
one jitted call (vmap over particles, lax.scan over steps); timing is wall
clock per call after compilation, block_until_ready each call; the median of
--repeats calls is reported. Data are synthetic (uniform pixels, random
labels, 4096 examples), as in the C++ benchmark: the cost does not depend on
the values.

Usage (the venv of run_peers.sh, or any with jax installed):
  JAX_PLATFORMS=cpu python mlp_jax.py [--shape=fig9|fig7] [--N=10,100]
      [--repeats=5] [--out=result.json]
"""

import argparse
import json
import os
import platform
import statistics
import time
from functools import partial

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

K = 10
B = 100
SIGMA = 0.1
N_EXAMPLES = 4096
D_IN = 784
CLASSES = 10


def layer_sizes(shape):
    hidden = [100] * 5 if shape == "fig9" else [100, 100]
    return [D_IN] + hidden + [CLASSES]


def theta_dim(shape):
    L = len(layer_sizes(shape)) - 1
    return 4 * L + (L - 1) if shape == "fig9" else 2


def init_params(key, sizes):
    params = []
    for l in range(len(sizes) - 1):
        key, sub = jax.random.split(key)
        fan_in = sizes[l]
        scale = (2.0 if l < len(sizes) - 2 else 1.0) / fan_in
        W = jax.random.normal(sub, (sizes[l], sizes[l + 1]), jnp.float32) * jnp.sqrt(scale)
        params += [W, jnp.zeros((sizes[l + 1],), jnp.float32)]
    return params


def forward_loss(params, masks, x, y):
    h = x
    L = len(params) // 2
    for l in range(L):
        h = h @ params[2 * l] + params[2 * l + 1]
        if l < L - 1:
            h = jax.nn.relu(h)
            if masks is not None:
                h = h * masks[l]
    logp = jax.nn.log_softmax(h)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))


def decode(shape, theta, t):
    """Per-block learning rates, momenta, hidden masks (or None)."""
    sizes = layer_sizes(shape)
    L = len(sizes) - 1
    if shape == "fig9":
        lr = jnp.exp(theta[: 2 * L])
        mom = jax.nn.sigmoid(theta[2 * L: 4 * L])
        width = jnp.clip(jnp.round(jax.nn.sigmoid(theta[4 * L:]) * 100), 10, 100)
        masks = [(jnp.arange(sizes[h + 1]) < width[h]).astype(jnp.float32)
                 for h in range(L - 1)]
        return lr, mom, masks
    alpha = jnp.exp(theta[0]) / (1.0 + t / 5000.0) ** jnp.exp(theta[1])
    return jnp.full((2 * L,), alpha), jnp.full((2 * L,), 0.9), None


def make_estimate(shape, N, images, labels):
    def inner_step(carry, t, theta):
        params, vel = carry
        lr, mom, masks = decode(shape, theta, t.astype(jnp.float32))
        k = jax.random.fold_in(jax.random.PRNGKey(0), t)
        idx = jax.random.randint(k, (2, B), 0, N_EXAMPLES)
        x, y = images[idx[0]], labels[idx[0]]
        loss, grads = jax.value_and_grad(forward_loss)(params, masks, x, y)
        vel = [mom[b] * v + g for b, (v, g) in enumerate(zip(vel, grads))]
        params = [w - lr[b] * v for b, (w, v) in enumerate(zip(params, vel))]
        if shape == "fig9":
            loss = forward_loss(params, masks, images[idx[1]], labels[idx[1]])
        return (params, vel), loss

    def unroll(params, vel, theta, t0):
        ts = t0 + jnp.arange(K)
        (params, vel), losses = jax.lax.scan(
            lambda c, t: inner_step(c, t, theta), (params, vel), ts)
        return params, vel, jnp.sum(losses)

    @jax.jit
    def estimate(params, vel, theta, eps, t0):
        thetas = theta[None, :] + eps
        params, vel, L = jax.vmap(unroll, in_axes=(0, 0, 0, None))(
            params, vel, thetas, t0)
        grad = jnp.mean(eps * L[:, None], axis=0) / SIGMA ** 2
        return params, vel, grad

    return estimate


def run(shape, N, repeats):
    key = jax.random.PRNGKey(1)
    k1, k2, k3, k4 = jax.random.split(key, 4)
    images = jax.random.uniform(k1, (N_EXAMPLES, D_IN), jnp.float32)
    labels = jax.random.randint(k2, (N_EXAMPLES,), 0, CLASSES)
    P = theta_dim(shape)
    if shape == "fig9":
        L = len(layer_sizes(shape)) - 1
        theta = jnp.concatenate([jnp.full((2 * L,), -3.0), jnp.full((2 * L,), 2.0),
                                 jnp.full((L - 1,), 2.0)]).astype(jnp.float32)
    else:
        theta = jnp.array([-3.0, -1.0], jnp.float32)
    pos = jax.random.normal(k3, (N // 2, P), jnp.float32) * SIGMA
    eps = jnp.concatenate([pos, -pos])
    p0 = init_params(k4, layer_sizes(shape))
    params = [jnp.broadcast_to(p, (N,) + p.shape) for p in p0]
    vel = [jnp.zeros_like(p) for p in params]
    estimate = make_estimate(shape, N, images, labels)
    t = 0
    out = estimate(params, vel, theta, eps, jnp.int32(t))  # compile
    jax.block_until_ready(out)
    params, vel = out[0], out[1]
    times = []
    for _ in range(repeats):
        t += K
        start = time.perf_counter()
        out = estimate(params, vel, theta, eps, jnp.int32(t))
        jax.block_until_ready(out)
        times.append(time.perf_counter() - start)
        params, vel = out[0], out[1]
    return {"shape": shape, "N": N, "K": K, "B": B,
            "seconds_per_estimate_median": statistics.median(times),
            "seconds_per_estimate_min": min(times),
            "seconds_per_estimate_all": times,
            "grad_finite": bool(jnp.all(jnp.isfinite(out[2])))}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shape", default="fig9", choices=("fig9", "fig7"))
    ap.add_argument("--N", default="10,100", help="particle counts, comma-separated (even)")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    ns = [int(n) for n in a.N.split(",")]
    if any(n < 2 or n % 2 for n in ns):
        ap.error(f"--N must be even numbers >= 2, got {a.N}")
    result = {"versions": {"python": platform.python_version(), "jax": jax.__version__},
              "cpu_count": os.cpu_count(), "runs": []}
    for n in ns:
        r = run(a.shape, n, max(1, a.repeats))
        print(f"[mlp_jax] {a.shape} N={n}: {1e3 * r['seconds_per_estimate_median']:.1f} ms "
              f"per estimate (median of {a.repeats}; min "
              f"{1e3 * r['seconds_per_estimate_min']:.1f})", flush=True)
        result["runs"].append(r)
    text = json.dumps(result, indent=2)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
