"""Plain Monte Carlo estimates of L/p with a standard error: a sparse Numba kernel at small p, dense
BLAS batches at large p, a plain NumPy evaluator (the reference's, the benchmarks' baseline), and
`mc_to_tol` (a pilot sizing the run that reaches a target standard error)."""

from __future__ import annotations

import math
import time

import numpy as np

from ..core import validation as v
from ..core.blas import one_blas_thread
from ..core.task import Task, check_task
from ..core.weights import Weights, check_weights
from .closed_forms import one_hot_feature_errors
from .estimate import ALLOC_SAFETY, CHUNK, LossEstimate, sample_chunks

__all__ = ["monte_carlo", "mc_to_tol", "dense_numpy_loss"]

DENSE_P = 0.25  # at and above this p the dense path beats the sparse kernel (bench_montecarlo --tune)
MC_PILOT = 1 << 14  # plain Monte Carlo pilot sizing the run that reaches tol
DENSE_BATCH = 512  # samples per BLAS call on the dense path (128..1024 within 4%, 4096 slower: --tune)
DENSE_NUMPY_BATCH = 1 << 12  # dense_numpy_loss default (the benchmark times it at its best batch per case)


def _estimate(s1: float, s2: float, n_samples: int, scale: float):
    mean = s1 / n_samples
    var = max(s2 / n_samples - mean * mean, 0.0) * n_samples / (n_samples - 1)
    return mean * scale, np.sqrt(var / n_samples) * scale


@one_blas_thread
def monte_carlo(weights: Weights, task: Task, n_samples: int, seed=0) -> LossEstimate:
    """Plain Monte Carlo estimate of L/p (inputs validated by loss_per_feature)."""
    from .._kernels import montecarlo as k

    t0 = time.perf_counter()
    sizes, seeds = sample_chunks(n_samples, seed)
    c_pos, c_neg = one_hot_feature_errors(weights, task.mixing)
    details = {"chunk": CHUNK}
    if task.one_hot:
        sums, sumsq = k.one_hot_chunks(c_pos, c_neg, sizes, seeds)
        scale, p, path = 1.0, None, "one_hot"
    elif task.p >= DENSE_P:
        sums, sumsq = _dense_chunks(weights, task, sizes, seeds)
        scale, p, path = 1.0 / (task.n_features * task.p), task.p, "dense_blas"
    else:
        arrays = k.prepare(weights.W_in, weights.W_out, task.mixing)
        sums, sumsq, nonempty = k.bernoulli_chunks(*arrays, c_pos, c_neg, float(task.p), sizes, seeds)
        details["nonempty_samples"] = int(nonempty.sum())
        scale, p, path = 1.0 / (task.n_features * task.p), task.p, "sparse_numba"
    details["path"] = path
    value, stderr = _estimate(float(np.sum(sums)), float(np.sum(sumsq)), n_samples, scale)
    return LossEstimate(value, stderr, n_samples, "monte_carlo", p, time.perf_counter() - t0, details)


def _dense_chunks(weights: Weights, task: Task, sizes, seeds):
    """Dense path for large p: same chunk layout and seeds as the sparse kernel; each chunk draws
    DENSE_BATCH-sample batches with the Numba sampler and multiplies them by BLAS on one thread (the
    caller, monte_carlo, runs under @one_blas_thread), the chunks running on Numba's threads (a
    threaded BLAS on top was several times slower under load)."""
    from .._kernels.montecarlo import dense_chunks

    w_in_t = np.ascontiguousarray(weights.W_in.T)
    w_out_t = np.ascontiguousarray(weights.W_out.T)
    m_t = np.ascontiguousarray(task.mixing.T)
    return dense_chunks(w_in_t, w_out_t, m_t, float(task.p), sizes, seeds, DENSE_BATCH)


def dense_numpy_loss(
    weights: Weights, task: Task, n_samples: int, seed=0, batch: int = DENSE_NUMPY_BATCH
) -> LossEstimate:
    """The reference's evaluator, in NumPy: dense batches (samples x features, as its PyTorch code),
    inputs = uniform values times a Bernoulli(p) mask, labels and outputs formed in full by BLAS.

    The baseline of benchmarks/bench_montecarlo.py and an independent check in tests; prefer
    loss_per_feature. `batch` samples per batch (default: the fastest measured here).
    """
    task = check_task(task)
    weights = check_weights(weights, task.n_features)
    n_samples = v.positive_int("n_samples", n_samples, minimum=2)
    batch = v.positive_int("batch", batch)
    gen = v.rng(seed)
    n = task.n_features
    w_in_t, w_out_t, m_t = weights.W_in.T, weights.W_out.T, task.mixing.T
    t0 = time.perf_counter()
    s1 = s2 = 0.0
    done = 0
    while done < n_samples:
        b = min(batch, n_samples - done)
        if task.one_hot:
            x = np.zeros((b, n))
            x[np.arange(b), gen.integers(0, n, b)] = gen.uniform(-1.0, 1.0, b)
        else:
            x = gen.uniform(-1.0, 1.0, (b, n))
            x[gen.random((b, n)) >= task.p] = 0.0
        y = np.maximum(x, 0.0) + x @ m_t
        err = np.maximum(x @ w_in_t, 0.0) @ w_out_t - y
        per = np.einsum("ij,ij->i", err, err)
        s1 += per.sum()
        s2 += np.sum(per * per)
        done += b
    scale = 1.0 if task.one_hot else 1.0 / (task.n_features * task.p)
    value, stderr = _estimate(s1, s2, n_samples, scale)
    p = None if task.one_hot else task.p
    return LossEstimate(value, stderr, n_samples, "dense_numpy", p, time.perf_counter() - t0)


def mc_to_tol(weights: Weights, task: Task, tol: float, seed) -> LossEstimate:
    """Plain Monte Carlo with the sample count a pilot says reaches stderr tol."""
    ss = v.seed_sequence(seed)
    pilot_ss = np.random.SeedSequence(ss.entropy, spawn_key=tuple(ss.spawn_key) + (0,))
    main_ss = np.random.SeedSequence(ss.entropy, spawn_key=tuple(ss.spawn_key) + (1,))
    n_pilot = MC_PILOT
    pilot = monte_carlo(weights, task, n_pilot, pilot_ss)
    n_main = max(n_pilot, int(math.ceil(ALLOC_SAFETY * n_pilot * (pilot.stderr / tol) ** 2)))
    est = monte_carlo(weights, task, n_main, main_ss)
    est.details["pilot_samples"] = n_pilot
    return est
