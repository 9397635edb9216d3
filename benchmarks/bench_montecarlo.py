"""Benchmark: the Monte Carlo evaluator (ccsolve.loss.monte_carlo) against dense NumPy, same run.

Contenders:
  ccsolve      ccsolve.loss.monte_carlo: the sparse Numba kernel below DENSE_P, the dense path above
               (Numba input sampler + BLAS products), whatever loss_per_feature dispatches to
  dense NumPy  ccsolve.loss.dense_numpy_loss: what the reference does (dense batches of a numpy
               Generator's uniforms times a Bernoulli mask, labels and outputs by BLAS), at its
               fastest batch size (chosen per model and p from --dense-batches in a timed pre-pass)

Fixtures (seeded): n = 100 features, d = 50 neurons, embedding M (d_embed = 1000, seed 1, sign +1);
  trained-like  W_in ~ N(0, 0.3^2) (50 x 100), W_out ~ N(0, 0.15^2) (100 x 50), numpy seed 0: dense
                mixed-sign weights, about half the neurons active on any input (the expensive case)
  naive         ccsolve.constructions.naive: one neuron per feature for the first 50 features
Each contender runs --repeats times, interleaved so that both see the same machine load; samples per
second from the best and from the median run; the ratio is ccsolve / dense NumPy. JIT compilation is
warmed up outside the timings. Seeds differ between repeats (no result caching to exploit).

Run:  python benchmarks/bench_montecarlo.py [--repeats 5] [--threads N] [--p 0.001 0.01 0.1 0.3 1]
                                            [--blas-threads default|1]
      python benchmarks/bench_montecarlo.py --tune   (sparse kernel vs dense path around DENSE_P, the
                                                      dense path's batch, chunk sizes at p = 0.01)
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time

if __name__ == "__main__":
    _ap = argparse.ArgumentParser(add_help=False)
    _ap.add_argument("--blas-threads", default="default")
    _blas = _ap.parse_known_args()[0].blas_threads
    if _blas != "default":  # must be set before numpy loads OpenBLAS
        for _k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[_k] = _blas

import numba  # noqa: E402
import numpy as np  # noqa: E402

import ccsolve as cc  # noqa: E402
import ccsolve.evaluation.montecarlo as L  # noqa: E402
from ccsolve import constructions  # noqa: E402

N_FEATURES, N_NEURONS = 100, 50
TARGET_SECONDS = 0.25  # per timed run of ccsolve; the sample count is chosen from a pilot run


def fixtures():
    m = cc.mixing.embedding(N_FEATURES, 1000, seed=1)
    rng = np.random.default_rng(0)
    trained = cc.Weights(rng.normal(0.0, 0.3, (N_NEURONS, N_FEATURES)), rng.normal(0.0, 0.15, (N_FEATURES, N_NEURONS)))
    naive = constructions.naive(cc.Task(m, N_NEURONS, 0.01))
    return m, {"trained-like": trained, "naive": naive}


def warm_up(m, w):
    for p in (0.01, 0.5, 1.0):
        task = cc.Task(m, N_NEURONS, p)
        L.monte_carlo(w, task, 1 << 12, 0)
        L.dense_numpy_loss(w, task, 1 << 12, 0)
        old = L.DENSE_P
        try:
            L.DENSE_P = 0.0 if p < 0.3 else 2.0  # compile the other path too
            L.monte_carlo(w, task, 1 << 12, 0)
        finally:
            L.DENSE_P = old


def _time(f, n, seed):
    t0 = time.perf_counter()
    f(n, seed)
    return time.perf_counter() - t0


def _n_for(f, seconds, lo=1 << 12, hi=1 << 26):
    """Samples so that one run of f takes about `seconds` (from a pilot run)."""
    n = lo
    while True:
        dt = _time(f, n, 12345)
        if dt > 0.05 or n >= hi:
            break
        n *= 4
    return int(min(hi, max(lo, n * seconds / max(dt, 1e-9))))


def compare(m, w, p, repeats, dense_batches):
    task = cc.Task(m, N_NEURONS, p)

    def ours(n, seed):
        return L.monte_carlo(w, task, n, seed)

    def dense_at(batch):
        return lambda n, seed: L.dense_numpy_loss(w, task, n, seed, batch=batch)

    n_ours = _n_for(ours, TARGET_SECONDS)
    # the baseline at its best batch size for this model and p
    probe = {}
    for b in dense_batches:
        n_b = _n_for(dense_at(b), 0.1, lo=max(b, 1 << 12))
        probe[b] = n_b / min(_time(dense_at(b), n_b, s) for s in (1, 2))
    best_batch = max(probe, key=probe.get)
    dense = dense_at(best_batch)
    n_dense = _n_for(dense, TARGET_SECONDS, lo=max(best_batch, 1 << 12))
    t_ours, t_dense = [], []
    for r in range(repeats):
        t_ours.append(_time(ours, n_ours, r))
        t_dense.append(_time(dense, n_dense, r))
    rate_ours = n_ours / np.array(t_ours)
    rate_dense = n_dense / np.array(t_dense)
    path = ours(1 << 12, 0).details["path"]
    return {
        "path": path,
        "ours_best": rate_ours.max(),
        "ours_median": np.median(rate_ours),
        "dense_best": rate_dense.max(),
        "dense_median": np.median(rate_dense),
        "dense_batch": best_batch,
        "n_ours": n_ours,
        "n_dense": n_dense,
    }


def _per_sample_timer():
    from numba import njit

    from ccsolve._kernels import montecarlo as K

    @njit(fastmath=K._FAST)
    def run(path, label_min, IDX, VAL, w_in_t, w_out, gram, mt_wout, m_t, mtm, out):
        n, d = w_in_t.shape
        k = IDX.shape[1]
        h, act, e = np.empty(d), np.empty(d, dtype=np.int64), np.empty(n)
        for r in range(IDX.shape[0]):
            if path == 0:
                out[r] = K._gram_error(IDX[r], VAL[r], k, w_in_t, w_out, gram, mt_wout, m_t, mtm, h, act, e, label_min)
            else:
                out[r] = K._direct_error(IDX[r], VAL[r], k, w_in_t, w_out, m_t, h, e)
        return out

    return run


def tune_per_sample(m, models, repeats):
    """ns per sample of the kernel's branches by k (thread CPU time, best of repeats)."""
    from ccsolve._kernels import montecarlo as K

    run = _per_sample_timer()
    ks = (2, 3, 4, 6, 8, 12, 16, 20, 24, 32, 48)
    print("\n### Per-sample cost by active features k (ns, thread CPU time, best of %d): GRAM_MAX_ACTIVE = %d, "
          "LABEL_VECTOR_MIN_ACTIVE = %d\n" % (repeats, K.GRAM_MAX_ACTIVE, K.LABEL_VECTOR_MIN_ACTIVE))
    print("| model | k | Gram, scattered M^T M | Gram, vector M x + r | direct error vector |")
    print("|---|---|---|---|---|")
    for name, w in models.items():
        arrays = K.prepare(w.W_in, w.W_out, m)
        for k in ks:
            reps = 20_000
            g = np.random.default_rng(k)
            idx = np.argsort(g.random((reps, N_FEATURES)), axis=1)[:, :k].copy()
            val = g.uniform(-1.0, 1.0, (reps, k))
            out = np.empty(reps)
            cells = []
            for path, label_min in ((0, 10**9), (0, 0), (1, 0)):
                run(path, label_min, idx[:10], val[:10], *arrays, out[:10])
                best = min(_thread_seconds(lambda: run(path, label_min, idx, val, *arrays, out)) for _ in range(repeats))
                cells.append(f"{best / reps * 1e9:.0f}")
            print(f"| {name} | {k} | " + " | ".join(cells) + " |")


def _thread_seconds(f):
    t0 = time.thread_time()
    f()
    return time.thread_time() - t0


def tune(m, models, repeats):
    tune_per_sample(m, models, repeats)
    print("\n### Sparse Numba kernel vs dense path (samples/s, best of %d; crossover sets DENSE_P)\n" % repeats)
    print("| model | p | sparse kernel M/s | dense path M/s | dense NumPy M/s | faster |")
    print("|---|---|---|---|---|---|")
    old = L.DENSE_P
    for name, w in models.items():
        for p in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 1.0):
            task = cc.Task(m, N_NEURONS, p)
            rates = {}
            try:
                for key, dp in (("sparse", 2.0), ("dense", 0.0)):
                    L.DENSE_P = dp
                    f = lambda n, s: L.monte_carlo(w, task, n, s)  # noqa: E731
                    n = _n_for(f, 0.15)
                    rates[key] = max(n / _time(f, n, r) for r in range(repeats))
            finally:
                L.DENSE_P = old
            f = lambda n, s: L.dense_numpy_loss(w, task, n, s)  # noqa: E731
            n = _n_for(f, 0.15)
            rates["numpy"] = max(n / _time(f, n, r) for r in range(repeats))
            faster = "sparse" if rates["sparse"] > rates["dense"] else "dense"
            print(f"| {name} | {p:g} | {rates['sparse'] / 1e6:.3f} | {rates['dense'] / 1e6:.3f} | "
                  f"{rates['numpy'] / 1e6:.3f} | {faster} |")
    print("\n### Dense-path batch (DENSE_BATCH samples per BLAS call), p = 1, M samples/s best of %d\n" % repeats)
    batches = (128, 256, 512, 1024, 4096)
    print("| model | " + " | ".join(str(b) for b in batches) + " |")
    print("|---|" + "---|" * len(batches))
    old_batch = L.DENSE_BATCH
    for name, w in models.items():
        task = cc.Task(m, N_NEURONS, 1.0)
        row = []
        try:
            for b in batches:
                L.DENSE_BATCH = b
                f = lambda n, s: L.monte_carlo(w, task, n, s)  # noqa: E731
                n = _n_for(f, 0.15)
                row.append(max(n / _time(f, n, r) for r in range(repeats)))
        finally:
            L.DENSE_BATCH = old_batch
        print(f"| {name} | " + " | ".join(f"{x / 1e6:.3f}" for x in row) + " |")
    print("\n### Chunk size (samples per parallel work unit and seed), p = 0.01, M samples/s best of %d\n" % repeats)
    print("| model | " + " | ".join(f"2^{c}" for c in (11, 13, 15, 17)) + " |")
    print("|---|" + "---|" * 4)
    old_chunk = L.CHUNK
    for name, w in models.items():
        task = cc.Task(m, N_NEURONS, 0.01)
        row = []
        try:
            for c in (11, 13, 15, 17):
                L.CHUNK = 1 << c
                f = lambda n, s: L.monte_carlo(w, task, n, s)  # noqa: E731
                n = 1 << 22
                row.append(max(n / _time(f, n, r) for r in range(repeats)))
        finally:
            L.CHUNK = old_chunk
        print(f"| {name} | " + " | ".join(f"{x / 1e6:.2f}" for x in row) + " |")


def overhead(m, w, repeats):
    """Wall ms of one monte_carlo call with few samples: the fixed cost (setup + parallel launch)."""
    print(f"\nOMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}, Numba threading layer: ", end="")
    for p in (0.001, 1.0):
        task = cc.Task(m, N_NEURONS, p)
        for n in (4096, 1 << 20):
            times = [_time(lambda n_, s_: L.monte_carlo(w, task, n_, s_), n, r) * 1e3 for r in range(max(repeats, 5))]
            if p == 0.001 and n == 4096:
                print(numba.threading_layer())
            print(f"p = {p:g}, {n} samples: median {np.median(times):.2f} ms, min {min(times):.2f} ms")


def header():
    load = os.getloadavg()
    cfg = np.show_config(mode="dicts") if hasattr(np, "show_config") else {}
    blas = cfg.get("Build Dependencies", {}).get("blas", {}).get("name", "?") if isinstance(cfg, dict) else "?"
    print(f"date {datetime.datetime.now().isoformat(timespec='minutes')}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (before), "
          f"numba {numba.__version__} threads {numba.get_num_threads()}, numpy {np.__version__} ({blas}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}), "
          f"ccsolve {cc.__version__}, DENSE_P = {L.DENSE_P}, CHUNK = {L.CHUNK}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None, help="Numba threads (default: all)")
    ap.add_argument("--p", type=float, nargs="+", default=[0.001, 0.01, 0.1, 0.3, 1.0])
    ap.add_argument("--dense-batches", type=int, nargs="+", default=[1 << 10, 1 << 12, 1 << 14],
                    help="batch sizes tried for the dense NumPy baseline (its best is used)")
    ap.add_argument("--tune", action="store_true", help="print the DENSE_P and CHUNK tuning tables instead")
    ap.add_argument("--overhead", action="store_true",
                    help="print the wall time of small monte_carlo calls (fixed cost per call) instead")
    ap.add_argument("--blas-threads", default="default",
                    help="'default' (OpenBLAS decides; 2 here) or a number, set before numpy is imported")
    args = ap.parse_args()
    if args.threads:
        numba.set_num_threads(args.threads)
    m, models = fixtures()
    for w in models.values():
        warm_up(m, w)
    header()
    if args.tune:
        tune(m, models, args.repeats)
        return
    if args.overhead:
        overhead(m, models["trained-like"], args.repeats)
        return
    print(f"\n| model | p | ccsolve path | ccsolve M samples/s (best / median) | dense NumPy M samples/s "
          f"(best / median, batch) | ratio best | ratio median |")
    print("|---|---|---|---|---|---|---|")
    for name, w in models.items():
        for p in args.p:
            r = compare(m, w, p, args.repeats, args.dense_batches)
            print(f"| {name} | {p:g} | {r['path']} | {r['ours_best'] / 1e6:.3g} / {r['ours_median'] / 1e6:.3g} | "
                  f"{r['dense_best'] / 1e6:.3g} / {r['dense_median'] / 1e6:.3g} ({r['dense_batch']}) | "
                  f"{r['ours_best'] / r['dense_best']:.1f}x | {r['ours_median'] / r['dense_median']:.1f}x |",
                  flush=True)
    load = os.getloadavg()
    print(f"\nload average after: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
