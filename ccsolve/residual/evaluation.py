"""Loss per feature L/p of residual-MLP weights: the exact one-hot loss at any depth and Monte Carlo
estimates with a standard error.

Exact one-hot (positive homogeneity). The network r_0 -> E^T r_L is bias-free with ReLUs, so
f(t u) = t f(u) for t >= 0; the labels too. With feature i alone at value t the error is
|t| err(sign(t) e_i), hence E||err||^2 = (1/n) sum_i (c_pos[i] + c_neg[i]) / 6 with
c_pos[i] = ||err(+e_i)||^2, c_neg[i] = ||err(-e_i)||^2 (E[t^2; t > 0] = 1/6), at every depth:
two forward passes of n unit inputs.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..core import validation as v
from ..core.blas import one_blas_thread, single_threaded_blas
from ..evaluation.estimate import LossEstimate
from . import _model
from .task import ResidualTask, check_task
from .weights import ResidualWeights, check_weights

__all__ = ["ResidualLossEstimate", "loss_per_feature", "one_hot_feature_errors", "one_hot_loss", "two_active_loss"]

CHUNK = 1 << 14  # Monte Carlo samples per chunk: the unit of seeding


# the one-layer model's estimate type serves every depth (same fields: value, stderr, n_samples, method, p,
# seconds, details); the name is kept for this package's callers
ResidualLossEstimate = LossEstimate


@one_blas_thread
def one_hot_feature_errors(weights: ResidualWeights, task: ResidualTask) -> tuple[np.ndarray, np.ndarray]:
    """(c_pos, c_neg), each (n_features,): the squared error of a unit input +e_i / -e_i alone."""
    task = check_task(task)
    weights = check_weights(weights, task)
    lpos, lneg = task.label_slopes
    return _model.unit_errors(weights.W_in, weights.W_out, task.embedding, task.gram, lpos, lneg)


def one_hot_loss(weights: ResidualWeights, task: ResidualTask) -> float:
    """Exact one-hot L/p = sum_i (c_pos[i] + c_neg[i]) / (6 n), any number of layers."""
    c_pos, c_neg = one_hot_feature_errors(weights, task)
    return float((c_pos.sum() + c_neg.sum()) / (6.0 * c_pos.size))


def two_active_loss(weights: ResidualWeights, task: ResidualTask, progress: bool = False) -> float:
    """Exact L/p with exactly two active features (E_2 / 2), any depth, by the sector fan
    (ccsolve.residual.pairs). Pure Python over the n(n-1)/2 pairs: 33-91 ms per pair at the preset
    sizes on a loaded machine (docs/residual.md), so minutes for n = 100."""
    from .pairs import two_active_expectation

    task = check_task(task)
    weights = check_weights(weights, task)
    if task.n_features < 2:
        raise ValueError(f"two_active_loss needs n_features >= 2, got {task.n_features}")
    progress = v.boolean("progress", progress)
    lpos, lneg = task.label_slopes
    with single_threaded_blas():
        e2, _ = two_active_expectation(weights.W_in, weights.W_out, task.embedding, task.gram, lpos, lneg,
                                       bool(progress))
    return e2 / 2.0


def binomial_cdf(n: int, p: float, k_min: int = 0) -> np.ndarray:
    """cdf[k] = P(K <= k | K >= k_min), K ~ Binomial(n, p), k = 0..n; cdf[n] = 2 (every u < 1 lands)."""
    k = np.arange(n + 1)
    if p >= 1.0:
        pmf = (k == n).astype(np.float64)
    else:
        logc = np.array([math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) for i in range(n + 1)])
        pmf = np.exp(logc + k * math.log(p) + (n - k) * math.log1p(-p))
    pmf[:k_min] = 0.0
    cdf = np.cumsum(pmf)
    cdf /= cdf[-1]
    cdf[-1] = 2.0
    return cdf


def exactly_cdf(n: int, k: int) -> np.ndarray:
    cdf = np.zeros(n + 1)
    cdf[k:] = 1.0
    cdf[-1] = 2.0
    return cdf


def _sums(weights, task, cdf, n_samples, seed):
    """Sum and sum of squares of ||err||^2 over n_samples draws (chunks with their own seeds)."""
    from .._kernels import residual as k

    n = task.n_features
    n_chunks = -(-n_samples // CHUNK)
    seeds = v.seed_sequence(seed).generate_state(n_chunks, dtype=np.uint64)
    lpos, lneg = task.label_slopes
    a, b, c = _model.products(weights.W_in, weights.W_out, task.embedding)
    x = np.empty((CHUNK, n))
    base = np.empty((CHUNK, n))
    mark = np.zeros(n, dtype=np.bool_)
    gram = np.ascontiguousarray(task.gram)
    s1 = s2 = 0.0
    nonempty = 0
    for ci in range(n_chunks):
        size = min(CHUNK, n_samples - ci * CHUNK)
        m = k.draw_rows(n, cdf, seeds[ci], size, gram, lpos, lneg, x, base, mark)
        nonempty += m
        if m == 0:
            continue
        _, _, err = _model.forward(x[:m], base[:m], a, b, c)
        per = np.einsum("ij,ij->i", err, err)
        s1 += float(per.sum())
        s2 += float(np.dot(per, per))
    return s1, s2, nonempty


def _mean_se(s1, s2, n):
    mean = s1 / n
    var = max(s2 / n - mean * mean, 0.0) * n / (n - 1)
    return mean, math.sqrt(var / n)


@one_blas_thread
def loss_per_feature(
    weights: ResidualWeights,
    task: ResidualTask,
    method: str = "auto",
    n_samples: int = 1 << 20,
    seed=0,
) -> ResidualLossEstimate:
    """L/p of `weights` on `task` with a standard error.

    method    "exact"        one-hot tasks (n_active=1): the closed form (one_hot_loss); exactly-two
                             tasks (n_active=2): the sector fan (two_active_loss; slow, minutes at n = 100)
              "monte_carlo"  plain Monte Carlo over the task's inputs (Bernoulli or exactly k)
              "stratified"   Bernoulli inputs: the one-active stratum exact (closed form), Monte Carlo
                             conditional on >= 2 active (same expectation, smaller variance at small p)
              "auto"         exact for one-hot tasks, stratified for Bernoulli, else monte_carlo
    n_samples Monte Carlo samples (empty samples included, as in spd's evaluation); for "stratified",
              samples of the >= 2-active stratum
    seed      int, numpy Generator or None; same seed, same estimate (no thread dependence)
    """
    task = check_task(task)
    weights = check_weights(weights, task)
    v.choice("method", method, {"exact", "monte_carlo", "stratified", "auto"})
    if method == "auto":
        method = "exact" if task.one_hot else ("stratified" if task.n_active is None else "monte_carlo")
    t0 = time.perf_counter()
    n = task.n_features
    if method == "exact":
        if task.n_active == 2:
            return ResidualLossEstimate(two_active_loss(weights, task), 0.0, 0, "exact", None,
                                        time.perf_counter() - t0, {"stratum": "exactly two active, sector fan"})
        if not task.one_hot:
            raise ValueError("method='exact' needs a one-hot task (n_active=1, e.g. task.as_one_hot()) or exactly "
                             "two active (n_active=2); use 'stratified' or 'monte_carlo' for other inputs")
        return ResidualLossEstimate(one_hot_loss(weights, task), 0.0, 0, "exact", None, time.perf_counter() - t0)
    n_samples = v.positive_int("n_samples", n_samples, minimum=2)
    p = task.p if task.n_active is None else None
    if method == "monte_carlo":
        cdf = binomial_cdf(n, task.p) if task.n_active is None else exactly_cdf(n, task.n_active)
        s1, s2, nonempty = _sums(weights, task, cdf, n_samples, seed)
        mean, se = _mean_se(s1, s2, n_samples)
        scale = 1.0 / task.expected_active
        return ResidualLossEstimate(mean * scale, se * scale, n_samples, "monte_carlo", p, time.perf_counter() - t0,
                                    {"nonempty_samples": nonempty, "chunk": CHUNK})
    if task.n_active is not None:
        raise ValueError("method='stratified' needs Bernoulli inputs (n_active=None); use 'monte_carlo'")
    pk = np.diff(np.concatenate([[0.0], binomial_cdf(n, task.p)[:-1], [1.0]]))  # P(K = k), k = 0..n
    p1 = float(pk[1]) if n >= 1 else 0.0
    p2 = float(max(1.0 - pk[0] - p1, 0.0))
    e1 = one_hot_loss(weights, task)  # E[||err||^2 | exactly one active]
    details = {"p_one": p1, "p_two_plus": p2, "one_active_exact": e1, "chunk": CHUNK}
    value = p1 * e1
    se = 0.0
    if n >= 2 and p2 > 0.0:
        s1, s2, _ = _sums(weights, task, binomial_cdf(n, task.p, k_min=2), n_samples, seed)
        mean, se2 = _mean_se(s1, s2, n_samples)
        details["two_plus_conditional"] = mean
        value += p2 * mean
        se = p2 * se2
    scale = 1.0 / task.expected_active
    return ResidualLossEstimate(value * scale, se * scale, n_samples, "stratified", p, time.perf_counter() - t0,
                                details)
