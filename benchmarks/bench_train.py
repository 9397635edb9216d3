"""Benchmark: ccsolve.train against a dense NumPy trainer that follows the reference algorithm.

Contenders, measured in the same run:
  ccsolve.train      path="auto": the sparse Numba path at small p, the dense BLAS path at large p
  dense NumPy        ccsolve.train.train_dense_numpy: full dense (batch, n) batches from a numpy
                     Generator, autograd-style matrix products, AdamW and the cosine schedule in NumPy
                     (what the reference's PyTorch loop does, on the CPU)
(PyTorch is not installed on the benchmark machine, so it is not a contender.)

Tables:
  1. p = 0.01, embedding M (seed 0), batch 2048, 10,000 steps on 1 and 2 Numba threads (same weights):
     wall and CPU time and final L/p (1,048,576-sample
     Monte Carlo of the final weights, and the training loss of the last 5% of steps). The baseline
     runs --baseline-steps steps (default: all 10,000); fewer are extrapolated per step and then its
     final loss is not reported.
  2. milliseconds per step of both ccsolve paths and of the baseline at several p (best of --repeats
     interleaved runs of --p-steps steps): where path="auto" switches (DENSE_P), and p = 1.
JIT compilation is warmed up outside the timings.

Run:  python benchmarks/bench_train.py [--baseline-steps 10000] [--p-steps 100] [--repeats 3]
                                       [--blas-threads 1|default]
      python benchmarks/bench_train.py --sigma   (learned mixing scale vs the published sigma)

By default the BLAS pools are limited to one thread (set before numpy is imported): on the shared,
loaded 2-core machine a threaded OpenBLAS made the small per-step products 5-10x slower. ccsolve.train
runs its BLAS calls on one thread in any case (ccsolve._blas.one_blas_thread); the dense NumPy
baseline follows this setting.
"""

from __future__ import annotations

import argparse
import os

if __name__ == "__main__":
    _ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _ap.add_argument("--steps", type=int, default=10_000, help="steps of the p = 0.01 run")
    _ap.add_argument("--baseline-steps", type=int, default=None, help="baseline steps (default: --steps)")
    _ap.add_argument("--p-steps", type=int, default=100, help="steps per contender in the p table")
    _ap.add_argument("--repeats", type=int, default=3, help="interleaved repeats in the p table (best kept)")
    _ap.add_argument("--blas-threads", default="1", help="'1' (default) or 'default'")
    _ap.add_argument("--sigma", action="store_true",
                     help="only the learned-sigma table (learn_sigma=True on random / symmetric G, seed 0)")
    ARGS = _ap.parse_args()
    if ARGS.blas_threads != "default":
        for _k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[_k] = ARGS.blas_threads

import datetime  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import ccsolve as cc  # noqa: E402
from ccsolve import training as T  # noqa: E402
from ccsolve.training import trainer as _trainer  # noqa: E402


def _warm():
    for p, path in ((0.01, "sparse"), (0.5, "dense")):
        task = cc.Task(cc.mixing.embedding(20, 60, seed=0), 10, p)
        T.train(task, steps=3, batch_size=64, path=path, progress=False)
        T.train(task, steps=3, batch_size=64, path=path, learn_sigma=True, progress=False)
    T.train_dense_numpy(cc.Task(cc.mixing.clean(20), 10, 0.1), steps=3, batch_size=64, progress=False)


def _timed(fn):
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.perf_counter() - w0, time.process_time() - c0


def sigma_table() -> int:
    """learn_sigma=True against the published optimal sigma (random 0.025, symmetric 0.033)."""
    print("| G (seed 0) | learned sigma | L/p at the learned sigma (MC) | training L/p "
          "| fixed sigma = +-|learned|: L/p |")
    print("|---|---|---|---|---|")
    for sym in (False, True):
        g = cc.mixing.random(100, 1.0, seed=0, symmetric=sym)
        r = T.train(cc.Task(0.01 * g, 50, 0.01), learn_sigma=True, sigma_init=0.01, mixing_base=g, seed=0,
                    progress=False)
        est = cc.loss_per_feature(r.weights, r.task, n_samples=1 << 20, seed=1)
        fixed = []
        for s in (abs(r.sigma), -abs(r.sigma)):
            task = cc.Task(s * g, 50, 0.01)
            w = T.train(task, seed=0, progress=False).weights
            fixed.append(f"{s:+.4f}: {cc.loss_per_feature(w, task, n_samples=1 << 20, seed=1).value:.4f}")
        print(f"| {'symmetric' if sym else 'random'} | {r.sigma:+.4f} | {est.value:.4f} +- {est.stderr:.4f} | "
              f"{r.final_loss:.4f} | {', '.join(fixed)} |")
    return 0


def main(args) -> int:
    if args.sigma:
        return sigma_table()
    _warm()
    load = os.getloadavg()
    steps = args.steps
    base_steps = args.baseline_steps or steps
    task = cc.Task(cc.mixing.embedding(100, 1000, seed=0), 50, 0.01)
    runs = []
    for threads in (1, 2):
        res, wall, cpu = _timed(lambda: T.train(task, steps=steps, seed=0, threads=threads, progress=False))
        runs.append((threads, res, wall, cpu))
    ours_eval = cc.loss_per_feature(runs[0][1].weights, task, n_samples=1 << 20, seed=1)
    assert runs[0][1].weights == runs[1][1].weights  # thread-count independent
    base, b_wall, b_cpu = _timed(lambda: T.train_dense_numpy(task, steps=base_steps, seed=0, progress=False))
    b_wall, b_cpu = b_wall * steps / base_steps, b_cpu * steps / base_steps
    base_eval = cc.loss_per_feature(base.weights, task, n_samples=1 << 20, seed=1) if base_steps == steps else None

    ps = (0.01, 0.03, 0.1, 0.3, 0.5, 1.0)
    best = {(p, who): np.inf for p in ps for who in ("sparse", "dense", "numpy")}
    for _ in range(args.repeats):  # interleaved, best of --repeats: the machine's load drifts
        for p in ps:
            tp = cc.Task(cc.mixing.embedding(100, 1000, seed=0), 50, p)
            n_steps = args.p_steps
            for who, fn in (("sparse", lambda: T.train(tp, steps=n_steps, path="sparse", threads=1, progress=False)),
                            ("dense", lambda: T.train(tp, steps=n_steps, path="dense", progress=False)),
                            ("numpy", lambda: T.train_dense_numpy(tp, steps=n_steps, progress=False))):
                r = fn()
                best[p, who] = min(best[p, who], r.seconds / n_steps)
    load_end = os.getloadavg()

    print(f"## Trainer benchmark ({datetime.date.today().isoformat()}, {platform.machine()}, "
          f"{os.cpu_count()}-core, load {load[0]:.2f} -> {load_end[0]:.2f}, BLAS threads: {args.blas_threads})")
    print()
    print(f"p = 0.01, M = ccsolve.mixing.embedding(100, 1000, seed=0), batch 2048, {steps} steps, seed 0; "
          "L/p of the final weights: 1,048,576-sample Monte Carlo (seed 1); training L/p: mean of the last 5% "
          "of steps. cpu s = process CPU time (all threads). Speed-up = baseline wall / wall.")
    print()
    print("| trainer | wall s | cpu s | ms / step (wall) | final L/p (MC) | final training L/p | speed-up |")
    print("|---|---|---|---|---|---|---|")
    for threads, res, wall, cpu in runs:
        print(f"| ccsolve.train (path={res.path}, {threads} Numba thread{'s' if threads > 1 else ''}) | {wall:.2f} | "
              f"{cpu:.2f} | {wall / steps * 1e3:.3f} | {ours_eval.value:.4f} +- {ours_eval.stderr:.4f} | "
              f"{res.final_loss:.4f} | {b_wall / wall:.1f}x |")
    extra = "" if base_steps == steps else f" (timed on {base_steps} steps, extrapolated)"
    final = (f"{base_eval.value:.4f} +- {base_eval.stderr:.4f} | {base.final_loss:.4f}" if base_eval is not None
             else "not run to the end | -")
    print(f"| dense NumPy (reference algorithm){extra} | {b_wall:.1f} | {b_cpu:.1f} | {b_wall / steps * 1e3:.3f} | "
          f"{final} | 1.0x |")
    print()
    print(f"Milliseconds per step by p (best of {args.repeats} interleaved runs of {args.p_steps} steps, batch 2048, "
          f"embedding M; sparse path on 1 thread; path='auto' takes 'sparse' below p = {_trainer.DENSE_P}):")
    print()
    print("| p | sparse path | dense path | dense NumPy | auto vs dense NumPy |")
    print("|---|---|---|---|---|")
    for p in ps:
        sp, de, bl = best[p, "sparse"], best[p, "dense"], best[p, "numpy"]
        auto = sp if p < _trainer.DENSE_P else de
        print(f"| {p:g} | {sp * 1e3:.3f} | {de * 1e3:.3f} | {bl * 1e3:.3f} | {bl / auto:.1f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(ARGS))
