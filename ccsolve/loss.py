"""Loss per feature L/p of any weights: estimates with a standard error.

`loss_per_feature` validates its input and dispatches:
  method="exact"        closed form (one-hot tasks; Bernoulli tasks within tol, see ccsolve.stratified)
  method="monte_carlo"  plain Monte Carlo: a sparse Numba kernel at small p, dense BLAS batches at large p
  method="stratified"   exact strata k = 1, 2 + Monte Carlo conditional on k >= 3 (ccsolve.stratified)
  method="auto"         the fastest of these reaching tol (ccsolve.stratified.dispatch)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from . import _validation as v
from ._blas import one_blas_thread
from .closed_forms import one_hot_feature_errors
from .task import Task, check_task
from .weights import Weights, check_weights

__all__ = ["LossEstimate", "loss_per_feature", "monte_carlo", "dense_numpy_loss"]

CHUNK = 1 << 15  # samples per chunk: the unit of parallel work and of seeding
DENSE_P = 0.25  # at and above this p the dense path beats the sparse kernel (bench_montecarlo --tune)
DENSE_BATCH = 512  # samples per BLAS call on the dense path (128..1024 within 4%, 4096 slower: --tune)
DENSE_NUMPY_BATCH = 1 << 12  # dense_numpy_loss default (the benchmark times it at its best batch per case)


@dataclass(frozen=True)
class LossEstimate:
    """An estimate of L/p = E||y_hat - y||^2 / (n_features p) (one-hot: E||y_hat - y||^2).

    value     the estimate of L/p
    stderr    its standard error (0 for exact methods)
    n_samples samples drawn (0 for exact methods)
    method    "exact", "monte_carlo", ... (how the value was obtained)
    p         the feature probability evaluated (None for one-hot)
    seconds   wall time of the evaluation
    details   method-specific diagnostics
    """

    value: float
    stderr: float
    n_samples: int
    method: str
    p: float | None
    seconds: float = 0.0
    details: dict = field(default_factory=dict)

    def __float__(self) -> float:
        return float(self.value)

    def interval(self, z: float = 1.96) -> tuple[float, float]:
        return self.value - z * self.stderr, self.value + z * self.stderr

    def to_dict(self) -> dict:
        return {
            "value": self.value,
            "stderr": self.stderr,
            "n_samples": self.n_samples,
            "method": self.method,
            "p": self.p,
            "seconds": self.seconds,
            "details": self.details,
        }

    def __repr__(self):
        return (
            f"LossEstimate(value={self.value:.6g}, stderr={self.stderr:.2g}, method={self.method!r}, "
            f"p={self.p}, n_samples={self.n_samples})"
        )


@one_blas_thread
def loss_per_feature(
    weights: Weights,
    task: Task,
    method: str = "monte_carlo",
    n_samples: int = 1 << 20,
    seed=0,
    tol: float | None = None,
) -> LossEstimate:
    """L/p of `weights` on `task` with a standard error.

    weights   ccsolve.Weights with n_features equal to the task's
    method    "exact"       closed form: one-hot tasks; Bernoulli tasks when what >= 3 active features
                            could add is <= tol (strata k = 1, 2 exact, ccsolve.stratified)
              "stratified"  E_1, E_2 exact + Monte Carlo conditional on k >= 3 (ccsolve.stratified)
              "monte_carlo" plain Monte Carlo
              "auto"        exact if allowed (one-hot, or tiny p within tol), else stratified below
                            p = 0.5, else monte_carlo (measured crossover, docs/benchmarks.md)
    n_samples Monte Carlo samples (empty samples included, as in the reference); for "stratified", the
              samples spread over the strata k >= 3. Ignored when tol is given.
    seed      int, numpy Generator or None; same seed, same estimate whatever the thread count
    tol       target standard error: sample until reached (pilot-based sample counts)
    """
    task = check_task(task)
    weights = check_weights(weights, task.n_features)
    v.choice("method", method, {"exact", "monte_carlo", "stratified", "auto"})
    if method in ("stratified", "auto") or tol is not None:
        from .stratified import dispatch

        n_samples = v.sample_count("n_samples", n_samples, minimum=2)
        return dispatch(weights, task, method, n_samples, tol, seed)
    if method == "exact":
        if not task.one_hot:
            raise ValueError(
                "method='exact' needs a one-hot task (Task(..., one_hot=True)), or a tol bounding what "
                ">= 3 active features add; use method='stratified' or 'monte_carlo' for Bernoulli inputs"
            )
        from .closed_forms import one_hot_loss

        t0 = time.perf_counter()
        value = one_hot_loss(weights, task.mixing)
        return LossEstimate(value, 0.0, 0, "exact", None, time.perf_counter() - t0)
    n_samples = v.sample_count("n_samples", n_samples, minimum=2)
    return monte_carlo(weights, task, n_samples, seed)


def _chunks(n_samples: int, seed) -> tuple[np.ndarray, np.ndarray]:
    n_chunks = -(-n_samples // CHUNK)
    sizes = np.full(n_chunks, CHUNK, dtype=np.int64)
    sizes[-1] = n_samples - CHUNK * (n_chunks - 1)
    seeds = v.seed_sequence(seed).generate_state(n_chunks, dtype=np.uint64)
    return sizes, seeds


def _estimate(s1: float, s2: float, n_samples: int, scale: float):
    mean = s1 / n_samples
    var = max(s2 / n_samples - mean * mean, 0.0) * n_samples / (n_samples - 1)
    return mean * scale, np.sqrt(var / n_samples) * scale


@one_blas_thread
def monte_carlo(weights: Weights, task: Task, n_samples: int, seed=0) -> LossEstimate:
    """Plain Monte Carlo estimate of L/p (inputs validated by loss_per_feature)."""
    from ._kernels import montecarlo as k

    t0 = time.perf_counter()
    sizes, seeds = _chunks(n_samples, seed)
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
    from ._kernels.montecarlo import dense_chunks

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
    n_samples = v.sample_count("n_samples", n_samples, minimum=2)
    batch = v.sample_count("batch", batch, limit=max(1, (1 << 28) // task.n_features))
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
