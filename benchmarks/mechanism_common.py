"""Shared set-up of the mechanism benchmarks: the three mixing matrices and cached trained weights.

Trained weights are cached as ccsolve.Weights .npz files (with the training config as metadata) in
--cache (default /work/runs/mechanism); a cached file is reused, so the scripts are resumable.
"""

from __future__ import annotations

import json
import os
import sys

from ccsolve._io import atomic_write_json

import ccsolve as cc

MIXINGS = {
    "embedding": ("embedding (seed 0)", lambda: cc.mixing.embedding(100, 1000, seed=0)),
    "random": ("random σ=0.025 (seed 0)", lambda: cc.mixing.random(100, 0.025, seed=0)),
    "symmetric": ("symmetric σ=0.033 (seed 0)", lambda: cc.mixing.random(100, 0.033, seed=0, symmetric=True)),
}
DEFAULT_CACHE = os.environ.get("CCSOLVE_MECHANISM_CACHE", "/work/runs/mechanism")


def task(kind: str, p: float, one_hot: bool = False) -> cc.Task:
    return cc.Task(MIXINGS[kind][1](), n_neurons=50, p=p, one_hot=one_hot)


def trained(kind: str, p: float, seed: int, cache: str = DEFAULT_CACHE, train: bool = True):
    """ccsolve.train defaults (10,000 steps; at p < 0.005 10,000 non-empty batches), cached."""
    path = os.path.join(cache, f"trained_{kind}_p{p:g}_seed{seed}.npz")
    if os.path.exists(path):
        return cc.Weights.load(path)
    if not train:
        return None
    t = task(kind, p)
    non_empty = p < 0.005
    res = cc.train(t, seed=seed, non_empty_steps=non_empty, progress=False)
    os.makedirs(cache, exist_ok=True)
    res.weights.save(path, task=t.config() if hasattr(t, "config") else str(t), seed=seed, steps=10_000,
                     non_empty_steps=non_empty, trainer="ccsolve.train defaults")
    return res.weights


def cached(path, fn):
    """The JSON at `path` if it exists, else fn()'s result, written there atomically (resumable runs)."""
    if os.path.exists(path):
        with open(path) as fh:
            return json.load(fh)
    out = fn()
    atomic_write_json(path, out)
    return out

if __name__ == "__main__":
    # python benchmarks/mechanism_common.py p1,p2 seeds kinds  -- fill the cache
    ps = [float(x) for x in sys.argv[1].split(",")]
    seeds = [int(x) for x in sys.argv[2].split(",")]
    kinds = sys.argv[3].split(",") if len(sys.argv) > 3 else list(MIXINGS)
    import time
    for p in ps:
        for s in seeds:
            for k in kinds:
                t0 = time.time()
                trained(k, p, s)
                print(k, p, s, f"{time.time() - t0:.1f}s", os.getloadavg()[0], flush=True)
