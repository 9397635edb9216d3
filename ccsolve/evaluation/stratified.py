"""Stratified evaluation of L/p: exact strata k = 1, 2 and Monte Carlo conditional on k >= 3.

With k the number of active features and E_k = E[||y_hat - y||^2 | k active] (k features chosen uniformly,
values U[-1, 1]), for Bernoulli(p) inputs

    L/p = sum_{k=1..n} w_k(p) E_k,   w_k(p) = C(n, k) p^k (1 - p)^(n - k) / (n p).

E_k does not depend on p. E_1 is the one-hot closed form, E_2 an exact piecewise-quadratic integral over
[-1, 1]^2 per pair of features (`pair_loss`), E_k for k >= 3 is estimated by Monte Carlo with control
variates whose means are exact: the sum of the sample's one-hot errors (mean k E_1) and, for k <= 4, the
sum of its pairs' errors (mean C(k, 2) E_2). Strata whose binomial mass
is negligible are left out; what they could add is bounded with E_k <= beta k (`bound_slope`) and
reported as a truncation bound. Derivations: docs/math.md ("The pair integral", "The stratified
estimator").

Public: `pair_loss`, `single_loss`, `pair_errors`, `bound_slope`, `stratum_weights`, `stratum_losses`
-> StrataEstimate, `loss_curve` -> LossCurve; `loss_per_feature(method="stratified" | "exact" | "auto",
tol=...)` (ccsolve.evaluation.loss) dispatches to `stratified_loss` and `exact_loss`. All randomness comes from `seed` through
SeedSequence-derived per-chunk SplitMix64 streams: same seed, same result whatever the thread count.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..core import validation as v
from ..core.results import Result
from ..core.blas import one_blas_thread
from ..core.progress import progress_bar
from .closed_forms import _mixing, one_hot_loss
from .estimate import ALLOC_SAFETY, LossEstimate
from ..core.task import Task, check_task
from ..core.weights import Weights, check_weights

__all__ = [
    "pair_loss",
    "pair_errors",
    "single_loss",
    "bound_slope",
    "stratum_weights",
    "StrataEstimate",
    "stratum_losses",
    "LossCurve",
    "loss_curve",
]

PAIR_BLOCKS = 64  # fixed number of pair blocks: the unit of parallel work (result independent of threads)
STRATA_CHUNK = 4096  # Monte Carlo samples per chunk within a stratum (unit of work and of seeding)
PILOT = 1024  # samples per stratum used only to allocate samples and fit the control variate
MIN_SAMPLES = 512  # fewest main-stage samples in a sampled stratum
TRUNC_FRACTION = 0.01  # share of `tol` the truncation bound may use
DEFAULT_TRUNC = 1e-8  # truncation bound when no tol is given
CHUNKS_PER_CALL = 64  # kernel calls between progress-bar updates
PAIR_CV_MAX_K = 4  # strata using the pair control variate (it costs C(k, 2) extra evaluations)


# ---------------------------------------------------------------------------------------------------
# exact strata


def _tmm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a^T b without BLAS: these products are small, and a multi-threaded BLAS spin-waits badly on a busy
    machine (and its summation order may depend on its thread count)."""
    return np.einsum("ki,kj->ij", a, b)


class _Products:
    """The products of (weights, M) the kernels need, computed once per evaluation."""

    def __init__(self, weights: Weights, m: np.ndarray):
        n = m.shape[0]
        w_out = weights.W_out
        self.n = n
        self.m = m
        self.w_in_t = v.c_float64(weights.W_in.T)
        self.w_out = v.c_float64(w_out)
        self.gram = v.c_float64(_tmm(w_out, w_out))
        self.mtw = v.c_float64(_tmm(m, w_out))  # M^T W_out: row i = W_out^T M_i
        self.m_t = v.c_float64(m.T)
        self.mtm = v.c_float64(_tmm(m, m))
        # one-hot errors per unit input (as closed_forms.one_hot_feature_errors)
        r_pos = _tmm(w_out.T, np.maximum(weights.W_in, 0.0)) - m
        r_pos[np.diag_indices(n)] -= 1.0
        r_neg = _tmm(w_out.T, np.maximum(-weights.W_in, 0.0)) + m
        self.c_pos = v.c_float64(np.einsum("ij,ij->j", r_pos, r_pos))
        self.c_neg = v.c_float64(np.einsum("ij,ij->j", r_neg, r_neg))
        self.e1 = float((self.c_pos.sum() + self.c_neg.sum()) / (6.0 * n))

    def mc_arrays(self):
        return (self.w_in_t, self.w_out, self.gram, self.mtw, self.m_t, self.mtm, self.c_pos, self.c_neg)

    def pair_arrays(self):
        # y_i^s . y_j^t for y^+ = e_i + M_i, y^- = M_i: entries of (I+M)^T(I+M), (I+M)^T M, M^T(I+M), M^T M
        m, mtm = self.m, self.mtm
        yy_pm = v.c_float64(m + mtm)
        yy_mp = v.c_float64(m.T + mtm)
        yy_pp = v.c_float64(m + yy_mp)
        yy_pp[np.diag_indices(self.n)] += 1.0
        return (self.w_in_t, self.gram, v.c_float64(self.w_out + self.mtw), self.mtw, yy_pp, yy_pm, yy_mp, self.mtm)


def _pairs_index(n: int):
    i, j = np.triu_indices(n, 1)
    blocks = np.linspace(0, i.size, min(PAIR_BLOCKS, max(i.size, 1)) + 1).astype(np.int64)
    return i.astype(np.int64), j.astype(np.int64), blocks


def _pair_kernel(prod: _Products, grad: bool):
    from .._kernels import pairs

    n = prod.n
    if n < 2:
        raise ValueError(f"pair losses need n_features >= 2, got {n}")
    i, j, blocks = _pairs_index(n)
    return i, j, pairs.pair_blocks(*prod.pair_arrays(), i, j, blocks, bool(grad))


@one_blas_thread
def pair_loss(weights: Weights, mixing, grad: bool = False):
    """E_2 = E||y_hat - y||^2 with exactly two active features (uniform pair, values U[-1, 1]^2). Exact.

    `mixing` is M (n, n) or a Task. Returns E_2 (float), or with grad=True the tuple
    (E_2, dE_2/dW_in of shape (n_neurons, n_features), dE_2/dW_out of shape (n_features, n_neurons)).
    The gradient is exact wherever E_2 is differentiable (the squared error is continuous across the
    sectors where neurons switch, so it is the integral of the pointwise gradient); a column pair
    (W_in[a, i], W_in[a, j]) = (0, 0) contributes a zero subgradient.
    """
    m = _mixing(mixing)
    w = check_weights(weights, m.shape[0])
    grad = v.boolean("grad", grad)
    _, _, (vals, gh, ap, bm, gwin) = _pair_kernel(_Products(w, m), grad)
    scale = 0.25 / vals.size  # density 1/4 on the square, mean over pairs
    value = float(np.sum(vals) * scale)
    if not grad:
        return value
    g_in = np.sum(gwin, axis=0) * scale
    h = np.sum(gh, axis=0)  # integral of h h^T summed over pairs
    g_out = (2.0 * _tmm(w.W_out.T, h) - 2.0 * (np.sum(ap, axis=0) + _tmm(m.T, np.sum(bm, axis=0)))) * scale
    return value, g_in, g_out


def _pair_value(prod: _Products) -> float:
    _, _, (vals, *_) = _pair_kernel(prod, False)
    return float(np.sum(vals) * 0.25 / vals.size)


@one_blas_thread
def pair_errors(weights: Weights, mixing) -> np.ndarray:
    """E[||y_hat - y||^2 | features i and j active], shape (n, n), symmetric, zero diagonal. Exact."""
    m = _mixing(mixing)
    w = check_weights(weights, m.shape[0])
    i, j, (vals, *_) = _pair_kernel(_Products(w, m), False)
    out = np.zeros((m.shape[0], m.shape[0]))
    out[i, j] = out[j, i] = 0.25 * vals
    return out


@one_blas_thread
def single_loss(weights: Weights, mixing, grad: bool = False):
    """E_1 = the one-hot loss (ccsolve.one_hot_loss); with grad=True (E_1, dE_1/dW_in, dE_1/dW_out).

    E_1 = (||W_out P - (I + M)||^2 + ||W_out N + M||^2) / (6n), P = max(W_in, 0), N = max(-W_in, 0); at
    W_in[a, i] = 0 the subgradient 0 is used for that entry.
    """
    m = _mixing(mixing)
    w = check_weights(weights, m.shape[0])
    grad = v.boolean("grad", grad)
    n = m.shape[0]
    pos = np.maximum(w.W_in, 0.0)
    neg = np.maximum(-w.W_in, 0.0)
    r_pos = _tmm(w.W_out.T, pos) - (np.eye(n) + m)
    r_neg = _tmm(w.W_out.T, neg) + m
    value = float((np.sum(r_pos * r_pos) + np.sum(r_neg * r_neg)) / (6.0 * n))
    if not grad:
        return value
    s = 2.0 / (6.0 * n)
    g_out = s * (_tmm(r_pos.T, pos.T) + _tmm(r_neg.T, neg.T))
    g_in = s * (_tmm(w.W_out, r_pos) * (w.W_in > 0) - _tmm(w.W_out, r_neg) * (w.W_in < 0))
    return value, g_in, g_out


@one_blas_thread
def bound_slope(weights: Weights, mixing) -> float:
    """beta with E_k <= beta k for every k (used to bound the strata left out).

    beta = (sqrt(alpha) + sqrt(gamma))^2, alpha = ||W_out||_2^2 ||W_in||_F^2 / (6n) bounds E||y_hat||^2 / k
    (ReLU of a symmetric variable keeps half its second moment), gamma = sum_i (|e_i + M_i|^2 + |M_i|^2)
    / (6n) = E||y||^2 / k exactly; Minkowski's inequality combines them.
    """
    m = _mixing(mixing)
    w = check_weights(weights, m.shape[0])
    n = m.shape[0]
    alpha = np.linalg.norm(w.W_out, 2) ** 2 * np.sum(w.W_in**2) / (6.0 * n)
    ipm = np.eye(n) + m
    gamma = (np.sum(ipm * ipm) + np.sum(m * m)) / (6.0 * n)
    return float((math.sqrt(alpha) + math.sqrt(gamma)) ** 2)


def stratum_weights(n: int, p: float) -> np.ndarray:
    """w_k(p) = C(n, k) p^k (1 - p)^(n - k) / (n p) for k = 0..n, shape (n + 1,)."""
    from scipy.stats import binom  # lazy: scipy.stats is slow to import

    return binom.pmf(np.arange(n + 1), n, p) / (n * p)


# ---------------------------------------------------------------------------------------------------
# Monte Carlo strata


def _cost(k: int, n: int, d: int, pair_max_k: int) -> float:
    """Relative cost of one sample with k active features (flops of montecarlo._sample_error), including
    the C(k, 2) pair evaluations of the pair control variate when k <= pair_max_k."""
    from .._kernels import montecarlo

    def one(k):
        if k <= getattr(montecarlo, "GRAM_MAX_ACTIVE", 12):
            return d * (d / 2.0 + 3.0 * k) + k * k + 50.0
        return d * (n + k) + n * k + 50.0

    return one(k) + (k * (k - 1) / 2 * one(2) if k <= pair_max_k else 0.0)


def _stage_seeds(ss: np.random.SeedSequence, stage: int, k: int, n_chunks: int) -> np.ndarray:
    child = np.random.SeedSequence(ss.entropy, spawn_key=tuple(ss.spawn_key) + (stage, k))
    return child.generate_state(n_chunks, dtype=np.uint64)


def _sample(arrays, counts: dict, ss, stage: int, bar, pair_max_k: int) -> dict:
    """Raw sums (f, g1, g2, f^2, g1^2, g2^2, f g1, f g2, g1 g2) per stratum; counts maps k -> samples.

    g2 (the pair control variate) is computed for strata k <= pair_max_k, else left at 0."""
    from .._kernels.strata import N_SUMS, strata_chunks

    ck, sizes, seeds = [], [], []
    for k, n_k in counts.items():
        n_chunks = -(-n_k // STRATA_CHUNK)
        sz = np.full(n_chunks, STRATA_CHUNK, dtype=np.int64)
        sz[-1] = n_k - STRATA_CHUNK * (n_chunks - 1)
        ck.append(np.full(n_chunks, k, dtype=np.int64))
        sizes.append(sz)
        seeds.append(_stage_seeds(ss, stage, k, n_chunks))
    if not ck:
        return {}
    ck, sizes, seeds = (np.concatenate(a) for a in (ck, sizes, seeds))
    # big strata first so the parallel loop ends balanced; no chunk's result depends on the order
    order = np.argsort(-ck, kind="stable")
    out = np.empty((ck.size, N_SUMS))
    for s in range(0, ck.size, CHUNKS_PER_CALL):
        sel = order[s : s + CHUNKS_PER_CALL]
        out[sel] = strata_chunks(*arrays, ck[sel], sizes[sel], seeds[sel], pair_max_k)
        if bar is not None:
            bar.update(int(sizes[sel].sum()))
    # each stratum's chunks summed in seed order: independent of threads and of the call split
    return {k: np.sum(out[ck == k], axis=0) for k in counts}


def _moments(sums: np.ndarray, n: int):
    """Means (f, g1, g2) and their covariance matrix (unbiased) from the raw sums of n samples."""
    m = sums[:3] / n
    second = np.empty((3, 3))
    second[0, 0], second[1, 1], second[2, 2] = sums[3:6] / n
    second[0, 1] = second[1, 0] = sums[6] / n
    second[0, 2] = second[2, 0] = sums[7] / n
    second[1, 2] = second[2, 1] = sums[8] / n
    cov = (second - np.outer(m, m)) * (n / max(n - 1, 1))
    return m, cov


@dataclass(frozen=True)
class _Pilot:
    sd: float  # standard deviation of the control-variate-adjusted error
    beta: np.ndarray  # control-variate coefficients (g1, g2)


def _residual_var(cov: np.ndarray, beta: np.ndarray) -> float:
    return float(max(cov[0, 0] - 2.0 * beta @ cov[0, 1:] + beta @ cov[1:, 1:] @ beta, 0.0))


def _pilot(sums: np.ndarray, n: int) -> _Pilot:
    """Regression coefficients of f on the control variates, and the residual standard deviation."""
    _, cov = _moments(sums, n)
    used = np.diag(cov)[1:] > 0
    beta = np.zeros(2)
    if used.any():
        # least squares: the variates can be collinear (additive models have g2 = (k - 1) g1)
        beta[used] = np.linalg.lstsq(cov[1:, 1:][np.ix_(used, used)], cov[0, 1:][used], rcond=1e-12)[0]
    return _Pilot(math.sqrt(_residual_var(cov, beta)), beta)


def _finish(sums: np.ndarray, n: int, beta: np.ndarray, g_means) -> tuple[float, float]:
    """Control-variate estimate of E_k and its standard error from raw sums (beta fixed beforehand by
    the pilot, so the estimate is unbiased); g_means are the exact means (k E_1, C(k, 2) E_2)."""
    m, cov = _moments(sums, n)
    value = m[0] - beta @ (m[1:] - np.asarray(g_means))
    return float(value), float(math.sqrt(_residual_var(cov, beta) / n))


@dataclass(frozen=True, repr=False)
class StrataEstimate(Result):
    """Estimates of E_k = E[||y_hat - y||^2 | k active features] for the strata in `ks`.

    ks        (K,) int, the strata estimated (1 and 2 exact, the others by Monte Carlo)
    values    (K,) E_k
    stderrs   (K,) standard errors (0 for exact strata)
    n_samples (K,) main-stage Monte Carlo samples per stratum (0 for exact strata)
    n_features, slope: n and beta of the bound E_k <= beta k for strata not in ks
    pilot_samples: samples drawn only to allocate samples and fit the control variates
    seconds   wall time; details: method-specific diagnostics
    """

    ks: np.ndarray
    values: np.ndarray
    stderrs: np.ndarray
    n_samples: np.ndarray
    n_features: int
    slope: float
    pilot_samples: int = 0
    seconds: float = 0.0
    details: dict = field(default_factory=dict)

    def loss(self, p: float) -> tuple[float, float, float]:
        """(L/p, its statistical standard error, truncation bound) at feature probability p.

        The truncation bound beta * sum_{k not in ks, k >= 1} k C(n,k) p^k (1-p)^(n-k) / (n p) bounds
        what the strata left out could add (the estimate is low by at most that much).
        """
        p = v.probability("p", p)
        w = stratum_weights(self.n_features, p)
        value = float(np.dot(w[self.ks], self.values))
        stat = float(math.sqrt(np.dot(w[self.ks] ** 2, self.stderrs**2)))
        rest = np.ones(self.n_features + 1, dtype=bool)
        rest[0] = False
        rest[self.ks] = False
        k = np.arange(self.n_features + 1)
        trunc = float(self.slope * np.sum((k * w)[rest]))
        return value, stat, trunc



def _strata_needed(n: int, p: float, slope: float, trunc: float) -> np.ndarray:
    """Strata k >= 2 to evaluate at p so that the ones left out add at most `trunc` (by E_k <= slope k).

    The lightest strata are left out first; E_1 costs nothing and is always kept (not listed).
    """
    w = stratum_weights(n, p)
    k = np.arange(n + 1)
    mass = slope * k * w  # bound on each stratum's contribution to L/p
    mass[:2] = np.inf  # 0 contributes nothing, 1 is always evaluated
    order = np.argsort(mass, kind="stable")
    left = np.cumsum(mass[order]) <= trunc
    keep = np.ones(n + 1, dtype=bool)
    keep[order[left]] = False
    keep[:2] = False
    return np.flatnonzero(keep)


def _run(weights, m, ps, tol, n_samples, ss, trunc, progress, desc):
    """Shared engine: exact E_1, E_2; pilot + Neyman allocation over strata k >= 3; main sampling.

    Either tol (a target statistical standard error at every p in ps) or n_samples (a total budget of
    main-stage samples, allocated for the first p) drives the allocation. E_2 is computed only where
    it matters: when stratum 2 is needed or a sampled stratum uses the pair control variate (at large
    p neither is, and stratum 2 joins the truncation bound).
    """
    t0 = time.perf_counter()
    n, d = weights.n_features, weights.n_neurons
    slope = bound_slope(weights, m)
    prod = _Products(weights, m)
    e1 = prod.e1
    kept = sorted(set().union(*(_strata_needed(n, p, slope, trunc).tolist() for p in ps)))
    ks_needed = [k for k in kept if k >= 3]
    pair_max_k = PAIR_CV_MAX_K
    with_e2 = 2 in kept or any(k <= pair_max_k for k in ks_needed)
    e2 = _pair_value(prod) if with_e2 else 0.0
    if not with_e2:
        pair_max_k = 0
    t_exact = time.perf_counter() - t0
    arrays = prod.mc_arrays()
    pilot_counts = {k: PILOT for k in ks_needed}
    total_pilot = PILOT * len(ks_needed)
    with progress_bar(progress, total_pilot, f"{desc} (pilot)", unit="smp") as bar:
        pilot_sums = _sample(arrays, pilot_counts, ss, 0, bar, pair_max_k)
    pil = {k: _pilot(pilot_sums[k], PILOT) for k in ks_needed}
    cost = {k: _cost(k, n, d, pair_max_k) for k in ks_needed}
    counts = {}
    if ks_needed:
        kk = np.array(ks_needed)
        sd = np.array([pil[k].sd for k in ks_needed])
        c = np.array([cost[k] for k in ks_needed])
        need = np.zeros(kk.size)
        for p in ps:
            w = stratum_weights(n, p)[kk]
            a = w * sd
            if tol is not None:
                # Neyman allocation reaching variance tol^2 at this p at least cost
                need = np.maximum(need, ALLOC_SAFETY * a / np.sqrt(c) * np.sum(a * np.sqrt(c)) / tol**2)
            else:
                s = np.sum(a / np.sqrt(c))
                if s > 0:
                    need = np.maximum(need, n_samples * (a / np.sqrt(c)) / s)
        if tol is not None:
            with np.errstate(over="ignore"):
                v.needed_samples(float(np.sum(need)), tol)  # refuse what cannot finish, naming tol
        for k, nk in zip(ks_needed, need):
            counts[k] = int(max(MIN_SAMPLES, math.ceil(nk)))
    total = sum(counts.values())
    with progress_bar(progress, total, desc, unit="smp") as bar:
        sums = _sample(arrays, counts, ss, 1, bar, pair_max_k)
    ks = [1, 2] if with_e2 else [1]
    vals = [e1, e2][: len(ks)]
    ses = [0.0] * len(ks)
    ns = [0] * len(ks)
    for k in ks_needed:
        val, se = _finish(sums[k], counts[k], pil[k].beta, (k * e1, k * (k - 1) / 2 * e2))
        ks.append(k)
        vals.append(val)
        ses.append(se)
        ns.append(counts[k])
    details = {
        "exact_seconds": t_exact,
        "control_variate": {int(k): pil[k].beta.tolist() for k in ks_needed},
        "pilot_sd": {int(k): pil[k].sd for k in ks_needed},
        "truncation_target": trunc,
    }
    return StrataEstimate(
        np.array(ks, dtype=np.int64),
        np.array(vals),
        np.array(ses),
        np.array(ns, dtype=np.int64),
        n,
        slope,
        total_pilot,
        time.perf_counter() - t0,
        details,
    )


# ---------------------------------------------------------------------------------------------------
# public estimators


@one_blas_thread
def stratum_losses(
    weights: Weights,
    task: Task,
    k_max: int | None = None,
    n_samples: int = 1 << 13,
    seed=0,
    progress: bool = False,
) -> StrataEstimate:
    """E_k for k = 1..k_max (default all n_features): 1 and 2 exact, k >= 3 with n_samples each.

    task supplies the mixing matrix (its p is not used: E_k does not depend on p). Each Monte Carlo
    stratum also draws PILOT samples (separate seeds) to fit its control variate.
    """
    task = check_task(task)
    weights = check_weights(weights, task.n_features)
    n = task.n_features
    k_max = n if k_max is None else v.positive_int("k_max", k_max)
    if k_max > n:
        raise ValueError(f"k_max must be <= n_features={n}, got {k_max}")
    n_samples = v.sample_count("n_samples", n_samples, minimum=2)
    ss = v.seed_sequence(seed)
    t0 = time.perf_counter()
    m = task.mixing
    prod = _Products(weights, m)
    e1 = prod.e1
    ks = list(range(1, min(k_max, 2) + 1))
    e2 = _pair_value(prod) if k_max >= 2 else 0.0
    vals = [e1, e2][: len(ks)]
    ses = [0.0] * len(ks)
    ns = [0] * len(ks)
    mc = list(range(3, k_max + 1))
    arrays = prod.mc_arrays()
    with progress_bar(progress, (PILOT + n_samples) * len(mc), "strata", unit="smp") as bar:
        pilot_sums = _sample(arrays, {k: PILOT for k in mc}, ss, 0, bar, PAIR_CV_MAX_K)
        sums = _sample(arrays, {k: n_samples for k in mc}, ss, 1, bar, PAIR_CV_MAX_K)
    betas = {}
    for k in mc:
        pil = _pilot(pilot_sums[k], PILOT)
        betas[k] = pil.beta.tolist()
        val, se = _finish(sums[k], n_samples, pil.beta, (k * e1, k * (k - 1) / 2 * e2))
        ks.append(k)
        vals.append(val)
        ses.append(se)
        ns.append(n_samples)
    return StrataEstimate(
        np.array(ks, dtype=np.int64),
        np.array(vals),
        np.array(ses),
        np.array(ns, dtype=np.int64),
        n,
        bound_slope(weights, m),
        PILOT * len(mc),
        time.perf_counter() - t0,
        {"control_variate": betas},
    )


@dataclass(frozen=True, repr=False)
class LossCurve(Result):
    """L/p at many feature probabilities from one set of stratum estimates.

    ps, values, stderrs: (P,) arrays; stderrs combine the statistical standard error (stat_stderrs) and
    the truncation bound (truncation_bounds, how much the strata left out could add) in quadrature.
    strata: the StrataEstimate behind every point (the E_k are shared, so neighbouring points'
    errors are correlated). n_samples: Monte Carlo samples drawn in all (pilot included).
    method="auto" (loss_curve): methods[i] says how point i was computed ("exact", "stratified" or
    "moments"); a moments point has stat_stderrs 0 and its error estimate in truncation_bounds and stderrs;
    strata is None when no point is stratified. point_seconds: wall time per point (a shared stratified
    run spread evenly over its points).
    """

    ps: np.ndarray
    values: np.ndarray
    stderrs: np.ndarray
    stat_stderrs: np.ndarray
    truncation_bounds: np.ndarray
    strata: StrataEstimate
    n_samples: int
    tol: float
    seconds: float = 0.0
    method: str = "stratified"
    methods: tuple = ()
    point_seconds: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.ps.size)

    def estimate(self, i: int) -> LossEstimate:
        """Point i as a LossEstimate."""
        return LossEstimate(
            float(self.values[i]), float(self.stderrs[i]), self.n_samples,
            self.methods[i] if self.methods else self.method, float(self.ps[i]),
            self.seconds,
            {"stat_stderr": float(self.stat_stderrs[i]), "truncation_bound": float(self.truncation_bounds[i])},
        )



def _ps(ps) -> np.ndarray:
    if isinstance(ps, (str, bytes)) or ps is None:
        raise TypeError(f"ps must be a 1-D sequence of feature probabilities, got {type(ps).__name__}")
    try:
        arr = np.atleast_1d(np.asarray(ps, dtype=np.float64))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"ps must be a 1-D sequence of feature probabilities ({exc})") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"ps must be a non-empty 1-D sequence, got shape {arr.shape}")
    for p in arr:
        v.probability("ps entries", float(p))
    return arr


@one_blas_thread
def loss_curve(
    weights: Weights,
    task: Task,
    ps,
    tol: float = 1e-4,
    seed=0,
    progress: bool = False,
    method: str = "stratified",
) -> LossCurve:
    """L/p at every p in `ps` (each in (0, 1]) with statistical standard error <= tol at every point.

    method "stratified" (below) or "auto": each point by the cheapest route to error <= tol, the shared
    stratified run at small p and the exact second moments (no sampling) above AUTO_CURVE_STRAT_P
    (ccsolve.evaluation.curve); per-point methods and times in the result.

    One stratified run serves all points: E_1, E_2 exact, and each stratum k >= 3 needed by some p is
    sampled once, with the largest of the Neyman allocations the points ask for. Strata are left out
    where their bounded contribution is below TRUNC_FRACTION * tol at every p. At large p the points
    need many strata (k around n p), still shared between neighbouring points.
    """
    task = check_task(task)
    weights = check_weights(weights, task.n_features)
    ps = _ps(ps)
    tol = v.positive("tol", tol)
    ss = v.seed_sequence(seed)
    v.choice("method", method, {"stratified", "auto"})
    progress = v.boolean("progress", progress)
    t0 = time.perf_counter()
    if method == "auto":
        from .curve import auto_curve

        values, errors, stat, bound, strata, n_total, methods, secs = auto_curve(weights, task, ps, tol, ss,
                                                                                 progress)
        return LossCurve(ps, values, errors, stat, bound, strata, n_total, tol, time.perf_counter() - t0,
                         "auto", methods, secs)
    trunc = TRUNC_FRACTION * tol
    strata = _run(weights, task.mixing, ps, tol, None, ss, trunc, progress, "loss curve")
    out = np.array([strata.loss(float(p)) for p in ps])
    n_total = int(strata.pilot_samples + strata.n_samples.sum())
    return LossCurve(
        ps,
        out[:, 0],
        np.hypot(out[:, 1], out[:, 2]),
        out[:, 1],
        out[:, 2],
        strata,
        n_total,
        tol,
        time.perf_counter() - t0,
    )


@one_blas_thread
def stratified_loss(weights: Weights, task: Task, n_samples: int = 1 << 20, tol=None, seed=0,
                    progress: bool = False) -> LossEstimate:
    """L/p at task.p by the stratified estimator (inputs validated by the caller).

    tol given: sample until the statistical standard error is <= tol (Neyman allocation from a pilot);
    otherwise spend n_samples main-stage samples over the strata k >= 3. The returned stderr combines
    the statistical error and the truncation bound in quadrature (both in details).
    """
    t0 = time.perf_counter()
    trunc = TRUNC_FRACTION * tol if tol is not None else DEFAULT_TRUNC
    strata = _run(weights, task.mixing, [task.p], tol, n_samples, v.seed_sequence(seed), trunc, progress,
                  "stratified")
    value, stat, bound = strata.loss(task.p)
    details = {
        "stat_stderr": stat,
        "truncation_bound": bound,
        "strata": strata.to_dict(),
        "pilot_samples": strata.pilot_samples,
    }
    n_total = int(strata.pilot_samples + strata.n_samples.sum())
    return LossEstimate(value, math.hypot(stat, bound), n_total, "stratified", task.p,
                        time.perf_counter() - t0, details)


@one_blas_thread
def exact_loss(weights: Weights, task: Task, tol) -> LossEstimate:
    """L/p from the exact strata k = 1, 2 alone; valid when what k >= 3 could add is <= tol."""
    t0 = time.perf_counter()
    n, p = task.n_features, task.p
    slope = bound_slope(weights, task.mixing)
    w = stratum_weights(n, p)
    k = np.arange(n + 1)
    bound = float(slope * np.sum((k * w)[3:]))
    if tol is None or bound > tol:
        need = "a tol" if tol is None else f"tol >= {bound:.3g}"
        raise ValueError(
            f"method='exact' needs a one-hot task, or at p={p:g} {need}: the strata with >= 3 active "
            f"features may add up to {bound:.3g} to L/p (bound E_k <= {slope:.3g} k); use "
            "method='stratified' or 'auto'"
        )
    e2 = pair_loss(weights, task.mixing) if n >= 2 else 0.0
    value = float(w[1] * one_hot_loss(weights, task.mixing) + (w[2] * e2 if n >= 2 else 0.0))
    details = {"stat_stderr": 0.0, "truncation_bound": bound}
    return LossEstimate(value, bound, 0, "exact", p, time.perf_counter() - t0, details)
