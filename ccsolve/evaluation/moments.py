"""Exact second moments of the hidden layer, and L/p from them, without sampling (issue 16).

With h = ReLU(W_in x), y = ReLU(x) + M x and x_i independent (0 w.p. 1 - p, else U[-1, 1]):

    E||W_out h - y||^2 = tr(W_out^T W_out E[h h^T]) - 2 tr(W_out C) + E||y||^2,
    C = E[h ReLU(x)^T] + E[h x^T] M^T,   E||y||^2 = p (n + 2 tr M + 2 |M|_F^2) / 6.

Every entry of E[h h^T], E[h x^T], E[h ReLU(x)^T] is a Fourier (Laplace-inversion) sum of products of n
closed-form factors; the sums are exact up to truncation (Poisson summation on the bounded support, the
aliases being polynomial moments subtracted in closed form; docs/math.md, "Exact second moments"). The
period is shortened where a Chernoff bound keeps the alias error below tol / 10; the 2-D sums run over a
cross-shaped region; at small p the stratum with two active features is removed from the transforms and
added from the exact strata (low_strata="exact"). What the cross cut leaves out is extrapolated from a nested
coarser cut (CUT_EXTRAP, CUT_ERR). The reported error is the change of the result when every 1-D truncation
is halved and every 2-D region shrunk to 3/4 (a refinement estimate), plus the cut's uncertainty and the
shortened period's alias bound (details["error_parts"]); validated against brute-force quadrature, long
Monte Carlo, the stratified estimator and tight references (tests/test_moments*.py,
benchmarks/check_moments_error.py, check_moments_cut.py).

Layer 2 (an evaluator): imports the task and weights only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from math import comb

import numpy as np

from ..core import validation as v
from ..core.blas import one_blas_thread
from ..core.task import Task, check_task
from ..core.weights import Weights, check_weights

__all__ = ["CostCapExceeded", "Moments", "MomentsLoss", "moments_loss", "moments_readout", "readout_solve", "second_moments"]

KAPPA = 2.0  # damping c = KAPPA / T (the alias weights are e^{-KAPPA k}); 1 and 4 agree to 1e-9 (tests)
T_MARGIN = 1.02  # period T <= T_MARGIN * |w_a|_1 (above the support half-width |w_a|_1: no alias error)
TAIL_PERIOD = True  # shorter period where a Chernoff bound puts the alias error below tol / 10 (_tail_period)
CROSS_THR = 1e-3  # 2-D terms below tol * CROSS_THR end a row's range (two_dim_fast); 0: the full box
# the same with stratum 2 exact (kmin = 3, p below ~0.2): with ENTRY_TOL_P, 2.3x faster on the curve's
# p = 0.012-0.1 points at tol 1e-6, actual errors 4e-8..2.5e-7 against tol 1e-8 runs (1e-3: 5e-9..4e-8;
# benchmarks/bench_moments_curve_levers.py, docs/benchmarks.md)
CROSS_THR_LOW = 3e-3
# What the cross cut leaves out is extrapolated from the coarser cut (threshold x _kernels.moments.CUT_RATIO):
# per pair, D = sum - coarser sum, and the omitted part is CUT_EXTRAP * D (Richardson in the threshold); the
# uncertainty CUT_ERR * |sum over pairs of G_ab D_ab| enters the loss error. On four weight sets (trained at
# p = 0.3, 0.05, 1; random), p = 0.02-0.2, two truncations, full-box runs gave omitted / D = 0.53-1.34
# (trained: 0.68-0.92); benchmarks/check_moments_cut.py
CUT_EXTRAP = 0.85
CUT_ERR = 0.6
ALIAS_FRAC = 1e-3  # the shortened period's Chernoff alias bound per entry, as a fraction of the entry tolerance
K1_START = 32
# first per-entry tolerance = tol * this when stratum 2 is exact (small p: the slowly decaying sums make the
# loss error estimate ~1.2-2.6x the entry tolerance on trained weights at p = 0.1, so tol itself needed a
# retry; 0.5 passed first time there, 0.25 was 30% slower; a miss only costs a retry)
ENTRY_TOL_LOW = 0.5  # first 1-D truncation (doubled until the halving change is below tol / 10)
# below p = ENTRY_TOL_P the first entry tolerance is further scaled by (p / ENTRY_TOL_P)^ENTRY_TOL_EXP: on the
# curve's weights at tol 1e-6 the estimate after the first pass was 2.6x (p = 0.1, no retry) to 7.5x
# (p = 0.02) tol, so every point below p = 0.1 paid a retry (benchmarks/bench_moments_curve_levers.py)
ENTRY_TOL_P = 0.1
ONE_DIM_FRAC = 0.3  # 1-D truncations doubled until the halving change is below tol_e * this (0.1: the 100-point curve 18.5 s, 0.3: 16.6 s, 1.0: 16.0 s with the largest estimate 9.6e-7; docs/benchmarks.md)
ETA_FRAC = 0.1  # 2-D box: the last m whose 1-D marginal term exceeds tol_e * this / T_max^2
ENTRY_TOL_EXP = 1.5
# below tol = ENTRY_TOL_TOL the first entry tolerance is also scaled by (tol / ENTRY_TOL_TOL)^ENTRY_TOL_TOL_EXP:
# the estimate grows more slowly than the entry tolerance (the cut's part ~ entry_tol^0.65), so at tol 1e-7
# (p = 0.1, trained weights) tol/2 failed and cost a retry (1.08 s), tol/5 passed (0.54 s, estimate 9e-8)
ENTRY_TOL_TOL = 1e-6
ENTRY_TOL_TOL_EXP = 0.35


class CostCapExceeded(ValueError):
    """The 2-D sums would need more factor evaluations than max_factor_evals (a ValueError: callers that
    fall back to a sampler catch this, and only this)."""


@dataclass(frozen=True)
class Moments:
    """E[h h^T] (d, d), E[h x^T] (d, n), E[h ReLU(x)^T] (d, n), E[h] (d,), each with an error estimate
    (same shape: |result at the full truncation - result at the half truncation|, propagated)."""

    hh: np.ndarray
    hx: np.ndarray
    hr: np.ndarray
    h: np.ndarray
    hh_err: np.ndarray
    hx_err: np.ndarray
    hr_err: np.ndarray
    h_err: np.ndarray
    p: float
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class MomentsLoss:
    """L/p from exact moments.

    value      L/p
    error      estimated absolute error of value: truncation refinement (1-D truncations halved, 2-D regions
               at 3/4) + the cross cut's uncertainty + the alias bound (details["error_parts"]; "attempts":
               passes of the truncation search)
    seconds    wall time
    grad_W_out dL/p / dW_out (exact given the moments), or None
    details    truncations, periods, cost, the moments themselves (details["moments"]; with
               low_strata="exact" they are the moments of the measure with >= 3 active features, and
               E_1, E_2 are in details); with grad=True also "grad_W_in_error" (the refinement estimate
               of grad_W_in, largest entry) and "grad_seconds"
    grad_W_in  dL/p / dW_in (Fourier sums of step x ReLU payoffs, docs/math.md), or None
    """

    value: float
    error: float
    seconds: float
    grad_W_out: np.ndarray | None = None
    details: dict = field(default_factory=dict)
    grad_W_in: np.ndarray | None = None
    weights: Weights | None = None  # moments_readout: Weights(W_in, the optimal readout); else None

    def __float__(self) -> float:
        return float(self.value)

    def to_dict(self) -> dict:
        return {"value": self.value, "error": self.error, "seconds": self.seconds,
                "details": {k: val for k, val in self.details.items() if k != "moments"}}

    def __repr__(self):
        return f"MomentsLoss(value={self.value:.10g}, error={self.error:.2g}, seconds={self.seconds:.3g})"


def _tail_bounds(w: np.ndarray, p: float, tt: np.ndarray) -> np.ndarray:
    """Per row a, the alias error bound at each candidate period tt[a] (d, G) -> (d, G).

    With T below the support half-width |w|_1 the periodisation picks up mass of |U| > T: the k = -1 alias
    e^{KAPPA} E[g(U - T)] (and the mirrored k = 1 one) no longer vanishes / is no longer polynomial. By
    Chernoff, E[(U - T)_+^j] <= j! M(lam) e^{-lam T} / lam^j (M the moment generating function of U, real
    lam > 0; the measure with the low strata removed is below the full one), so every such term, including
    the 2-D ones (the other factor is at most |w_b|_1 + 2 T_b), is below
    bound(T) = 2 e^{KAPPA} min_lam M(+-lam) e^{-lam T} (2 / lam^2 + 2 (L + 2 T) / lam), L = max |w|_1.
    """
    l1 = np.abs(w).sum(axis=1)
    l2 = np.sqrt((w * w).sum(axis=1))
    big = 3.0 * l1.max()
    lam = np.geomspace(0.05, 500.0, 120)[None, :] / l2[:, None]  # (d, L)
    out = np.empty(tt.shape)
    for a in range(w.shape[0]):
        z = lam[a][:, None] * w[a][None, :]  # (L, n)
        with np.errstate(over="ignore"):
            shz = np.where(np.abs(z) < 1e-8, 1.0, np.sinh(z) / np.where(z == 0, 1.0, z))
        logm = np.log((1 - p) + p * shz).sum(axis=1)  # sinh(z)/z is even: M(lam) = M(-lam)
        lg = (logm[None, :] - lam[a][None, :] * tt[a][:, None]
              + np.log(2 / lam[a][None, :] ** 2 + 2 * (big + 2 * tt[a][:, None]) / lam[a][None, :]))
        out[a] = 2 * np.exp(KAPPA) * np.exp(np.min(lg, axis=1))
    return out


def _tail_period(w: np.ndarray, p: float, delta: float) -> np.ndarray:
    """Per row, the smallest period T (on a grid of 0.1..1.02 |w_a|_1) whose alias bound (_tail_bounds) is
    <= delta; inf where none is."""
    l1 = np.abs(w).sum(axis=1)
    tt = np.linspace(0.1, 1.02, 93)[None, :] * l1[:, None]
    bound = _tail_bounds(w, p, tt)
    out = np.full(w.shape[0], np.inf)
    for a in range(w.shape[0]):
        ok = np.nonzero(bound[a] <= delta)[0]
        if ok.size:
            out[a] = tt[a, ok[0]]
    return out


def _at_least(n: int, p: float, k: int) -> float:
    """P(Bin(n, p) >= k): the mass of the measure restricted to >= k active coordinates."""
    return 1.0 - sum(comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k))


def _one_active(w: np.ndarray, p: float):
    """The one-active strata's parts of (E[h h^T], E[h x^T], E[h ReLU(x)^T], E[h]) in closed form: each
    coordinate alone, mass p (1 - p)^(n - 1), with E[u^2] = 1/3, E[u ReLU(u)] = 1/6, E[ReLU(u)] = 1/4 for
    u ~ U[-1, 1] and h = ReLU(w u)."""
    q1 = p * (1 - p) ** (w.shape[1] - 1)
    return (q1 * np.maximum(w[:, None, :] * w[None, :, :], 0).sum(axis=2) / 6, q1 * w / 6,
            q1 * np.maximum(w, 0) / 6, q1 * np.abs(w).sum(axis=1) / 4)


def _cross_thr(kmin: int) -> float:
    return CROSS_THR_LOW if kmin == 3 else CROSS_THR


def _geo(c: np.ndarray, t: np.ndarray):
    r = np.exp(-c * t)
    return r / (1 - r), r / (1 - r) ** 2, r * (1 + r) / (1 - r) ** 3


def _choose_k(tail: np.ndarray, eta: float, k_min: int) -> np.ndarray:
    """Per row, the last index whose |term| exceeds eta, doubled-safe (at least k_min)."""
    out = np.empty(tail.shape[0], dtype=np.int64)
    for a in range(tail.shape[0]):
        idx = np.nonzero(tail[a] > eta)[0]
        out[a] = max(k_min, int(idx[-1]) + 1 if idx.size else k_min)
    return out


def _restricted(w: np.ndarray, p: float, tol: float, kmin: int, k1_max: int, k2_max: int,
                max_factor_evals, k1_start: int = K1_START):
    """Moments of the measure restricted to >= kmin active features (kmin = 2 or 3), on the live rows.

    Returns (hh, hx, hr, h1, hh_err, hx_err, hr_err, h1_err, details); the caller adds the strata below kmin.
    """
    return _restricted_group(w, [p], [tol], kmin, k1_max, k2_max, max_factor_evals, k1_start)[0]


def _empty_parts(n: int, kmin: int):
    z2, z1 = np.zeros((0, n)), np.zeros(0)
    return (np.zeros((0, 0)), z2, z2, z1, np.zeros((0, 0)), z2, z2, z1,
            {"cut_pairs": np.zeros(0), "alias_rows": np.zeros(0), "k1": 0, "k2": [], "periods": [],
             "kappa": KAPPA, "factor_evals_2d": 0, "factor_evals_2d_box": 0, "kmin": kmin})


def _restricted_group(w: np.ndarray, ps, tols, kmin: int, k1_max: int, k2_max: int, max_factor_evals,
                      k1_start: int = K1_START) -> list:
    """_restricted for several p (entry tolerances tols) on one lattice: a list of its tuples, one per p.

    One p: its own period (T_MARGIN |w_a|_1, shortened by _tail_period) and the alias bound tol *
    ALIAS_FRAC where shortened. Several: the longest of their periods, per row (their sums then need
    more terms, but the 2-D factors are shared: _kernels.moments_multi), each p's alias bound evaluated
    at that period; the 1-D truncation is common (doubled until every p's halving change is small), the
    2-D boxes and cross regions are each p's own.
    """
    from .._kernels import moments as k

    d, n = w.shape
    n_p = len(ps)
    if d == 0:  # every neuron dead: every moment is 0
        return [_empty_parts(n, kmin) for _ in range(n_p)]
    l1 = np.abs(w).sum(axis=1)
    t_own = [T_MARGIN * l1 if not TAIL_PERIOD else np.minimum(T_MARGIN * l1, _tail_period(w, p, tol * ALIAS_FRAC))
             for p, tol in zip(ps, tols)]
    t_per = np.max(t_own, axis=0)
    if n_p == 1:  # rows whose period is below the support half-width carry the Chernoff bound tol * ALIAS_FRAC
        alias = [np.where(t_per < l1, tols[0] * ALIAS_FRAC, 0.0)]
    else:
        alias = [np.where(t_per < l1, _tail_bounds(w, p, t_per[:, None])[:, 0], 0.0) for p in ps]
    c = KAPPA / t_per
    a0, a1, a2 = _geo(c, t_per)
    # 1-D sums: double the truncation until the halving change is below tol * ONE_DIM_FRAC (or k1_max)
    kk = min(max(int(k1_start), 8), k1_max)
    while True:
        kvec = np.full(d, kk, dtype=np.int64)
        tc, ts = k.trig_tables(w, t_per, kk)
        if n_p == 1:
            one = [k.one_dim_fast(w, ps[0], c, t_per, kvec, tc, ts, kmin)]
        else:
            from .._kernels.moments import one_dim_multi

            one = list(zip(*one_dim_multi(w, np.asarray(ps, dtype=float), c, t_per, kvec, tc, ts, kmin)))
        worst = max(max(np.abs(s[..., 0] - s[..., 1]).max(initial=0) for s in res[:4]) / tol
                    for res, tol in zip(one, tols))
        if worst <= ONE_DIM_FRAC or kk >= k1_max:
            break
        kk = min(kk * (4 if worst > 100 else 2), k1_max)  # far off: quadruple
    wsq = (w * w).sum(axis=1)
    ia, ib = np.triu_indices(d, 1)
    scale = t_per.max() ** 2
    k2s = np.array([np.minimum(np.minimum(_choose_k(res[4], tol * ETA_FRAC / scale, 8), k2_max), kk)
                    for res, tol in zip(one, tols)])
    boxes = [int(np.sum((k2[ia] + 1) * (2 * k2[ib] + 1))) * n for k2 in k2s]  # each p's 2-D box cost
    for p, nodes_2d in zip(ps, boxes):
        if max_factor_evals is not None and nodes_2d > max_factor_evals:
            raise CostCapExceeded(
                f"the 2-D sums need {nodes_2d:.3g} factor evaluations > max_factor_evals={max_factor_evals:.3g} "
                f"(p = {p}: the strata with few active features decay slowly; use the stratified estimator)")
    pa, pb = ia.astype(np.int64), ib.astype(np.int64)
    thr = np.array([tol * _cross_thr(kmin) for tol in tols])
    if n_p == 1:
        s2s = k.two_dim_fast(w, ps[0], c, t_per, k2s[0], pa, pb, tc, ts, kmin, thr[0])[None]
    else:
        from .._kernels.moments_multi import two_dim_multi

        s2s = two_dim_multi(w, np.asarray(ps, dtype=float), c, t_per, k2s, pa, pb, tc, ts, kmin, thr)
    out = []
    for p, alias_e, (s_relu, s_sq, s_x, s_rx, _), k2, s2, box in zip(ps, alias, one, k2s, s2s, boxes):
        # P(K >= kmin) (mass of the measure) and P(K' >= kmin - 1), K' ~ Bin(n - 1, p) (the other coordinates)
        mass = _at_least(n, p, kmin)
        rest = _at_least(n - 1, p, kmin - 1)
        # subtract the aliases k >= 1 (polynomial moments of the restricted measure; E[U] = E[x_j] = 0)
        h1 = s_relu[:, 0] - a1 * t_per * mass
        sq = s_sq[:, 0] - (a0 * p * rest * wsq / 3 + t_per**2 * a2 * mass)
        hx = s_x[..., 0] - a0[:, None] * p * rest * w / 3
        hr = s_rx[..., 0] - (a0[:, None] * p * rest * w / 6 + (a1 * t_per)[:, None] * p * rest / 4)
        h1_err = np.abs(s_relu[:, 0] - s_relu[:, 1]) + alias_e
        sq_err = np.abs(s_sq[:, 0] - s_sq[:, 1]) + alias_e
        hx_err = np.abs(s_x[..., 0] - s_x[..., 1]) + alias_e[:, None]
        hr_err = np.abs(s_rx[..., 0] - s_rx[..., 1]) + alias_e[:, None]
        u_rv = hx @ w.T  # u_rv[b, a] = sum_j w_aj E[x_j h_b] = E[U_a ReLU(U_b)]
        u_rv_err = hx_err @ np.abs(w).T
        eh_uv = p * rest * (w @ w.T) / 3
        al2 = (a0[ia] * u_rv[ib, ia] + a1[ia] * t_per[ia] * h1[ib]
               + a0[ib] * u_rv[ia, ib] + a1[ib] * t_per[ib] * h1[ia]
               + a0[ia] * a0[ib] * eh_uv[ia, ib] + a1[ia] * a1[ib] * t_per[ia] * t_per[ib] * mass)
        cut = s2[:, 0] - s2[:, 3]
        off = s2[:, 0] + CUT_EXTRAP * cut - al2
        # refinement of the region + what the cross cut leaves out (estimated from the coarser cut) + aliases
        off_err = (np.abs(s2[:, 0] - s2[:, 1]) + alias_e[ia] + alias_e[ib]
                   + a0[ia] * u_rv_err[ib, ia] + a0[ib] * u_rv_err[ia, ib]
                   + a1[ia] * t_per[ia] * h1_err[ib] + a1[ib] * t_per[ib] * h1_err[ia])
        hh = np.diag(sq)
        hh[ia, ib] = off
        hh[ib, ia] = off
        hh_e = np.diag(sq_err)
        hh_e[ia, ib] = off_err
        hh_e[ib, ia] = off_err
        details = {"cut_pairs": CUT_ERR * cut, "alias_rows": alias_e,
                   "k1": int(kk), "k2": k2.tolist(), "periods": t_per.tolist(), "kappa": KAPPA,
                   "factor_evals_2d": int(s2[:, 2].sum()) * n,
                   "factor_evals_2d_box": box, "kmin": kmin}
        out.append((hh, hx, hr, h1, hh_e, hx_err, hr_err, h1_err, details))
    return out


def _grad_w_in_restricted(wl, p, kmin, details, hx_r, gl, alpha, beta, thr):
    """d(restricted loss)/dW_in on the live rows, and its refinement error (same shape).

    With r = W_out^T (W_out h - y), dL/dw_a = 2 E[r_a 1{U_a > 0} x]: the pairs (a, b != a) need
    D[a, b, k] = E_r[x_k 1{U_a > 0} ReLU(U_b)] (2-D sums, kernel 1/(s1 s2^2)), the diagonal 2 E_r[x_k
    ReLU(U_a)] = 2 hx_r, the target E_r[x_k psi_a 1{U_a > 0}] (1-D, psi_a = (W_out^T y)_a). The aliases of
    D (k1 = 0 < k2: E_r[x_k 1{U_a>0} (U_b + k2 T_b)]; k1 > 0: E_r[x_k ReLU(U_b + k2 T_b)]) are moments
    already known except E_r[x_k U_b 1{U_a > 0}], which enters contracted with G_ab a0_b and is folded
    into psi_a (beta' = beta + sum_b G_ab a0_b w_b).
    """
    from .._kernels import moments as k

    dl, n = wl.shape
    t_per = np.asarray(details["periods"], dtype=float)
    c = KAPPA / t_per
    a0, a1, _ = _geo(c, t_per)
    rest = _at_least(n - 1, p, kmin - 1)
    g_off = gl - np.diag(np.diag(gl))
    beta2 = beta + (g_off * a0[None, :]) @ wl
    kk = int(details["k1"])
    kvec = np.full(dl, kk, dtype=np.int64)
    step_x, ysum = k.grad_one_dim(wl, p, c, t_per, kvec, kmin, np.ascontiguousarray(alpha),
                                  np.ascontiguousarray(beta2))
    ia, ib = np.triu_indices(dl, 1)
    k2 = np.asarray(details["k2"], dtype=np.int64)
    if ia.size:
        tc, ts = k.trig_tables(wl, t_per, int(k2.max()))
        dab, dba, nodes = k.grad_two_dim_fast(wl, p, c, t_per, k2, ia.astype(np.int64), ib.astype(np.int64), tc, ts,
                                              kmin, thr)
    else:
        dab = dba = np.zeros((0, n, 2))
        nodes = np.zeros(0)
    details["grad_factor_evals_2d"] = int(nodes.sum()) * n
    out = []
    for r in range(2):
        sd = np.zeros((dl, n))
        np.add.at(sd, ia, g_off[ia, ib][:, None] * dab[:, :, r])
        np.add.at(sd, ib, g_off[ia, ib][:, None] * dba[:, :, r])
        y2 = ysum[:, :, r] - a0[:, None] * (alpha * p * rest / 6 + beta2 * p * rest / 3)
        g = (2 * sd + 2 * np.diag(gl)[:, None] * hx_r - 2 * y2
             - 2 * step_x[:, :, r] * (g_off @ (a1 * t_per))[:, None]
             - 2 * a0[:, None] * (g_off @ hx_r)
             - 2 * a0[:, None] * (p * rest / 3) * ((g_off * a0[None, :]) @ wl))
        out.append(g)
    return out[0], np.abs(out[0] - out[1])


def _full(live, d, n, parts):
    """Embed the live rows' results into (d, ...) arrays (dead neurons: zero rows)."""
    hh, hx, hr, h1, hh_e, hx_e, hr_e, h1_e = parts

    def rows(x_live, width=None):
        out = np.zeros((d,) if width is None else (d, width))
        out[live] = x_live
        return out

    def square(x_live):
        out = np.zeros((d, d))
        out[np.ix_(live, live)] = x_live
        return out

    return (square(hh), rows(hx, n), rows(hr, n), rows(h1), square(hh_e), rows(hx_e, n), rows(hr_e, n),
            rows(h1_e))


def second_moments(w_in, p: float, tol: float = 1e-10, k1_max: int = 4096, k2_max: int = 400,
                   max_factor_evals: float | None = None) -> Moments:
    """Exact E[h h^T], E[h x^T], E[h ReLU(x)^T], E[h] for h = ReLU(w_in x), x Bernoulli(p) x U[-1, 1].

    tol     target absolute error per moment entry (sets the truncations)
    k1_max  largest 1-D truncation (lattice points per neuron); k2_max: largest 2-D box half-side
    max_factor_evals  refuse (ValueError) when the 2-D sums would need more complex factor evaluations
    """
    w = v.as_matrix("w_in", w_in)
    p = v.probability("p", p)
    if p == 0.0:
        raise ValueError("p must be > 0 (at p = 0 every moment is 0)")
    tol = v.positive("tol", tol)
    d, n = w.shape
    live = np.abs(w).sum(axis=1) > 0
    wl = np.ascontiguousarray(w[live])
    hh, hx, hr, h1, hh_e, hx_e, hr_e, h1_e, details = _restricted(wl, p, tol, 2, k1_max, k2_max,
                                                                  max_factor_evals)
    iu = np.triu_indices(wl.shape[0], 1)
    hh_e[iu] += np.abs(details["cut_pairs"])  # the cut's uncertainty, per entry
    hh_e[iu[1], iu[0]] = hh_e[iu]
    dhh, dhx, dhr, dh1 = _one_active(wl, p)
    hh, hx, hr, h1 = hh + dhh, hx + dhx, hr + dhr, h1 + dh1
    details["dead_neurons"] = int(d - wl.shape[0])
    details.pop("cut_pairs", None)
    details.pop("alias_rows", None)
    return Moments(*_full(live, d, n, (hh, hx, hr, h1, hh_e, hx_e, hr_e, h1_e)), p, details)


def _low_quadratic(w: np.ndarray, m: np.ndarray, p: float):
    """The quadratic form in W_out of the one- and two-active strata's part of L/p: (A (d, d), C (d, n))
    with that part = tr(W_out A W_out^T) - 2 tr(W_out C) + const. The one-active moments in closed form
    (_one_active); E_2's from the exact pair kernel (ccsolve.stratified, the sector moments its
    W_out-gradient is built from), weighted by stratum_weights(n, p)[2]."""
    from .stratified import _pair_kernel, _Products, stratum_weights

    d, n = w.shape
    norm = n * p
    hh1, hx1, hr1, _ = _one_active(w, p)
    _, _, (vals, gh, ap, bm, _) = _pair_kernel(_Products(Weights(w, np.zeros((n, d))), m), True)
    s = stratum_weights(n, p)[2] * 0.25 / vals.size
    a2 = s * np.sum(gh, axis=0)
    c2 = s * (np.sum(ap, axis=0) + m @ np.sum(bm, axis=0)).T
    return hh1 / norm + a2, (hr1 + hx1 @ m.T) / norm + c2


def readout_solve(a: np.ndarray, c: np.ndarray, rcond: float = 1e-12) -> np.ndarray:
    """W_out = argmin tr(W_out A W_out^T) - 2 tr(W_out C) = (A^+ C)^T (n, d), A (d, d) symmetric PSD,
    C (d, n). Neurons that never fire (A_aa = 0, so row a of A and of C is 0) get an exactly zero readout;
    on the others the minimum-norm least-squares solution (lstsq; singular values below rcond times the
    largest entry dropped), so a singular A (two neurons with proportional rows) gets the minimum-norm one
    as long as rcond is above the error of A (moments_readout passes 10x its error estimate)."""
    a = 0.5 * (a + a.T)
    out = np.zeros((c.shape[1], a.shape[0]))
    live = np.diag(a) > 0
    if not live.any():
        return out
    al = a[np.ix_(live, live)]
    scale = float(np.max(np.abs(al)))
    out[:, live] = np.linalg.lstsq(al / scale, c[live] / scale, rcond=rcond)[0].T
    return out


def moments_loss(weights: Weights, task: Task, tol: float = 1e-7, grad: bool = False,
                 max_factor_evals: float | None = None, low_strata: str = "auto") -> MomentsLoss:
    """L/p of `weights` on the Bernoulli `task` from exact second moments (no sampling).

    tol   target absolute error of L/p (the refinement estimate `error` is brought below it: the per-entry
          truncation tolerance starts at tol and is tightened while the estimate exceeds tol, at most 3x)
    grad  also return dL/p / dW_out (exact given the moments) and dL/p / dW_in (grad_W_in: Fourier sums
          of step x ReLU payoffs on the same lattices; about 3-4x the cost of the value, docs/benchmarks.md)
    max_factor_evals  refuse (ValueError) above this 2-D cost (the cost model: details["factor_evals_2d"])
    low_strata  "auto" | "moments" | "exact": how the strata with <= 2 active features enter. "moments":
          stratum 1 in closed form, stratum 2 inside the Fourier sums. "exact": the Fourier sums run on the
          measure with >= 3 active features (their transforms decay much faster at small p) and E_1, E_2
          come from the exact strata (ccsolve.stratified.single_loss, pair_loss). "auto": "exact" when
          P(2 active) / (n p) > tol / 1000, else "moments".
    """
    task = check_task(task)
    weights = check_weights(weights, task.n_features)
    return _loss(weights.W_in, weights.W_out, task, tol, grad, max_factor_evals, low_strata)


def _curve_point(weights: Weights, task: Task, tol: float, max_factor_evals, k1_start: int) -> MomentsLoss:
    """moments_loss (inputs validated by the caller) with the 1-D truncation search starting at k1_start (a
    neighbouring p's truncation: loss_curve(method="auto") walks p upwards, where the sums need fewer terms)."""
    return _loss(weights.W_in, weights.W_out, task, tol, False, max_factor_evals, "auto", k1_start)


@one_blas_thread
def moments_readout(W_in, task: Task, tol: float = 1e-7, grad: bool = False,
                    max_factor_evals: float | None = None, low_strata: str = "auto") -> MomentsLoss:
    """The exactly optimal readout for W_in on the Bernoulli `task`, and L/p there, from exact moments.

    L/p is quadratic in W_out: L/p = tr(W_out A W_out^T) - 2 tr(W_out C) + const with A = E[h h^T] / (n p)
    and C = (E[h ReLU(x)^T] + E[h x^T] M^T) / (n p), so W_out* = (A^+ C)^T = E[y h^T] E[h h^T]^+
    (readout_solve: minimum-norm least squares, dead neurons get a zero readout, singular values of A
    below 10x its refinement error estimate are treated as 0). With low_strata "exact"
    the strata with one and two active features enter A and C from their exact moments (_low_quadratic).
    The moments are brought to the accuracy where the refinement estimate of L/p AT W_out* is below tol
    (the readout is recomputed on every tightening). Returns a MomentsLoss (as moments_loss at
    Weights(W_in, W_out*)) with `weights` = Weights(W_in, W_out*); with grad=True grad_W_out is ~0 (to
    the rounding of the solve) and grad_W_in is the gradient of min_W_out L/p (W_in) (envelope theorem:
    the partial gradient at W_out*). Arguments as moments_loss.
    """
    task = check_task(task)
    w = v.as_matrix("W_in", getattr(W_in, "W_in", W_in), shape=(None, task.n_features))
    return _loss(w, None, task, tol, grad, max_factor_evals, low_strata)


def _kmin(p: float, n: int, tol: float, low_strata: str):
    """(low_strata, kmin) with "auto" resolved: "exact" (kmin 3) when P(2 active) / (n p) > tol / 1000."""
    q2n = comb(n, 2) * p * p * (1 - p) ** (n - 2) / (n * p)
    if low_strata == "auto":
        low_strata = "exact" if q2n > tol / 1000 else "moments"
    return low_strata, 3 if low_strata == "exact" else 2


def _first_entry_tol(p: float, tol: float, kmin: int) -> float:
    """The first pass's per-entry tolerance (ENTRY_TOL_LOW, ENTRY_TOL_P, ENTRY_TOL_TOL)."""
    entry_tol = tol * (ENTRY_TOL_LOW if kmin == 3 else 1.0)
    if kmin == 3 and p < ENTRY_TOL_P:
        entry_tol *= (p / ENTRY_TOL_P) ** ENTRY_TOL_EXP
    if kmin == 3 and tol < ENTRY_TOL_TOL:
        entry_tol *= (tol / ENTRY_TOL_TOL) ** ENTRY_TOL_TOL_EXP
    return entry_tol


def _assemble(parts, w, w_out, live, m, p: float, kmin: int, low_quadratic):
    """One pass: the restricted moments `parts` (on the live rows) -> (loss * n p of the restricted measure,
    its error estimate, the cut's part, W_out, G = W_out^T W_out, the full moments tuple). w_out None: the
    optimal readout (low_quadratic: _low_quadratic's (A, C) when kmin = 3)."""
    d, n = w.shape
    norm = n * p
    details = parts[-1]
    hh, hx, hr, h1, hh_e, hx_e, hr_e, h1_e = _full(live, d, n, parts[:-1])
    ey2 = p * (n + 2 * np.trace(m) + 2 * np.sum(m * m)) / 6
    if kmin == 2:  # stratum 1 in closed form (as second_moments)
        dhh, dhx, dhr, _ = _one_active(w, p)
        hh, hx, hr = hh + dhh, hx + dhx, hr + dhr
        ey2_r = ey2
    else:  # the restricted measure: y's second moment given >= 2 other active coordinates
        ey2_r = ey2 * (1.0 - (1 - p) ** (n - 1) - (n - 1) * p * (1 - p) ** (n - 2))
    cc = hr + hx @ m.T
    cc_err = hr_e + hx_e @ np.abs(m).T
    if w_out is None:
        a_full, c_full = hh / norm, cc / norm
        if kmin == 3:
            a_full, c_full = a_full + low_quadratic[0], c_full + low_quadratic[1]
        # singular values of A below 10x its error estimate are noise: dropped (minimum-norm readout)
        rcond = 10 * float(np.max(hh_e, initial=0.0)) / norm / max(float(np.max(np.abs(a_full))), 1e-300)
        w_out = readout_solve(a_full, c_full, max(rcond, 1e-12))
    g = w_out.T @ w_out
    loss = np.sum(g * hh) - 2 * np.sum(w_out.T * cc) + ey2_r
    # the cut's uncertainty is taken on the signed sum over pairs (its per-pair sign is systematic)
    iu = np.triu_indices(int(live.sum()), 1)
    e_cut = abs(2 * float(np.sum(g[np.ix_(live, live)][iu] * details["cut_pairs"]))) / norm
    err = float((np.sum(np.abs(g) * hh_e) + 2 * np.sum(np.abs(w_out.T) * cc_err)) / norm) + e_cut
    return loss, err, e_cut, w_out, g, (hh, hx, hr, h1, hh_e, hx_e, hr_e, h1_e)


def _error_parts(details, g, w_out, live, m, norm, err, e_cut):
    """details["error_parts"]: the estimate split into truncation, cut and alias (each entry's error is
    truncation + cut + alias, propagated the same way)."""
    ag = np.abs(g[np.ix_(live, live)])
    al = details.pop("alias_rows")
    details.pop("cut_pairs")
    e_alias = float((np.sum(ag * (al[:, None] + al[None, :])) - np.sum(np.diag(ag) * al)
                     + 2 * np.sum(np.abs(w_out.T[live]) * al[:, None] * (1 + np.abs(m).sum(axis=1))[None, :]))
                    / norm)
    details["error_parts"] = {"truncation": max(err - e_cut - e_alias, 0.0), "cut": e_cut, "alias": e_alias}


def _record(details, entry_tol, low_strata, dead, full, p):
    """The last details of a result: its entry tolerance, low strata, dead neurons and the moments."""
    details["entry_tol"] = entry_tol
    details["low_strata"] = low_strata
    details["dead_neurons"] = int(dead)
    details["moments"] = Moments(*full, p, dict(details))


def _loss(w, w_out, task, tol, grad, max_factor_evals, low_strata, k1_start=None, entry_tol=None,
          low_losses=None, passes: int = 4) -> MomentsLoss:
    """moments_loss at (w, w_out), or at (w, the optimal readout) if w_out is None. entry_tol: the first
    pass's per-entry tolerance (default _first_entry_tol); low_losses: (E_1, E_2) if already known; passes:
    at most this many passes of the truncation search."""
    if task.one_hot:
        raise ValueError("moments_loss needs a Bernoulli task (one_hot=False); one-hot tasks have closed forms")
    grad = v.boolean("grad", grad)
    tol = v.positive("tol", tol)
    v.choice("low_strata", low_strata, {"auto", "moments", "exact"})
    t0 = time.perf_counter()
    p, n = task.p, task.n_features
    if p == 0.0:
        raise ValueError("moments_loss needs p > 0")
    norm = n * p
    low_strata, kmin = _kmin(p, n, tol, low_strata)
    m = task.mixing
    d = w.shape[0]
    live = np.abs(w).sum(axis=1) > 0
    wl = np.ascontiguousarray(w[live])
    optimal = w_out is None
    low_q = _low_quadratic(w, m, p) if optimal and kmin == 3 else None
    if entry_tol is None:
        entry_tol = _first_entry_tol(p, tol, kmin)
    for attempt in range(passes):
        parts = _restricted(wl, p, entry_tol, kmin, 4096, 400, max_factor_evals,
                            K1_START if k1_start is None else k1_start)
        k1_start = parts[-1]["k1"]  # a retry only tightens: start where this pass ended
        details = parts[-1]
        loss, err, e_cut, w_out_p, g, full = _assemble(parts, w, None if optimal else w_out, live, m, p, kmin,
                                                       low_q)
        if err <= tol or attempt == passes - 1:
            break
        entry_tol *= max(0.5 * tol / err, 1e-2)
    w_out = w_out_p
    _error_parts(details, g, w_out, live, m, norm, err, e_cut)
    details["attempts"] = attempt + 1
    hh, hx, hr = full[:3]
    cc = hr + hx @ m.T
    weights = Weights(w, w_out)
    value = loss / norm
    gw = 2 * (w_out @ hh - cc.T) / norm if grad else None
    g_in = None
    if grad:
        from .stratified import single_loss, stratum_weights

        tg = time.perf_counter()
        hx_r = parts[1]  # the restricted E_r[h x^T] on the live rows (before the stratum-1 closed form)
        gl = g[np.ix_(live, live)]
        alpha = w_out.T[live]
        beta = (w_out.T @ m)[live]
        gr, gr_err = _grad_w_in_restricted(wl, p, kmin, details, hx_r, gl, alpha, beta,
                                         entry_tol * _cross_thr(kmin))
        g_in = np.zeros_like(w)
        g_in[live] = gr / norm
        details["grad_W_in_error"] = float(np.max(gr_err, initial=0.0) / norm)
        sw = stratum_weights(n, p)
        if kmin == 2:  # stratum 1 (closed form in the moments) is sw[1] E_1 of the loss
            g_in += sw[1] * single_loss(weights, m, grad=True)[1]
        details["grad_seconds"] = time.perf_counter() - tg
    if kmin == 3:
        from .stratified import pair_loss, single_loss, stratum_weights

        sw = stratum_weights(n, p)
        if grad:
            e1, gi1, g1 = single_loss(weights, m, grad=True)
            e2, gi2, g2 = pair_loss(weights, m, grad=True)
            gw = gw + sw[1] * g1 + sw[2] * g2
            g_in += sw[1] * gi1 + sw[2] * gi2
        elif low_losses is not None:
            e1, e2 = low_losses
        else:
            e1 = single_loss(weights, m)
            e2 = pair_loss(weights, m)
        value += sw[1] * e1 + sw[2] * e2
        details["E_1"], details["E_2"] = e1, e2
    _record(details, entry_tol, low_strata, d - wl.shape[0], full, p)
    return MomentsLoss(float(value), err, time.perf_counter() - t0, gw, details, g_in,
                      weights if optimal else None)


def _loss_group(weights: Weights, m: np.ndarray, ps, tol: float, max_factor_evals, k1_start: int) -> list:
    """moments_loss(weights, Task(m, d, p), tol) for each p of ps (inputs validated by the caller; all with
    the same kmin, _kmin), the first pass of all of them on one lattice (_restricted_group: the 2-D factors
    computed once for all p). A point whose estimate exceeds tol after that pass is redone alone with a
    tighter entry tolerance (as moments_loss's retry). E_1, E_2 (no p in them) are computed once.
    Each result's `seconds` is the group's time shared equally, plus its own retry."""
    from .stratified import pair_loss, single_loss, stratum_weights

    t0 = time.perf_counter()
    w, w_out = weights.W_in, weights.W_out
    d, n = w.shape
    kmins = {_kmin(p, n, tol, "auto") for p in ps}
    if len(kmins) != 1:
        raise ValueError(f"_loss_group: the points need different low strata {kmins}")
    low_strata, kmin = kmins.pop()
    live = np.abs(w).sum(axis=1) > 0
    wl = np.ascontiguousarray(w[live])
    tols = [_first_entry_tol(p, tol, kmin) for p in ps]
    group = _restricted_group(wl, list(ps), tols, kmin, 4096, 400, max_factor_evals, k1_start)
    e1 = e2 = None
    if kmin == 3:
        e1, e2 = single_loss(weights, m), pair_loss(weights, m)
    shared = (time.perf_counter() - t0) / len(ps)
    out = []
    for p, entry_tol, parts in zip(ps, tols, group):
        t1 = time.perf_counter()
        norm = n * p
        details = parts[-1]
        loss, err, e_cut, _, g, full = _assemble(parts, w, w_out, live, m, p, kmin, None)
        if err > tol:  # as moments_loss's retry, alone
            r = _loss(w, w_out, Task(m, d, p), tol, False, max_factor_evals, "auto", details["k1"],
                      entry_tol * max(0.5 * tol / err, 1e-2), (e1, e2), passes=3)  # 4 passes in all
            r.details["attempts"] += 1
            r.details["group_size"] = len(ps)
            out.append(MomentsLoss(r.value, r.error, shared + time.perf_counter() - t1, None, r.details))
            continue
        _error_parts(details, g, w_out, live, m, norm, err, e_cut)
        details["attempts"] = 1
        value = loss / norm
        if kmin == 3:
            sw = stratum_weights(n, p)
            value += sw[1] * e1 + sw[2] * e2
            details["E_1"], details["E_2"] = e1, e2
        details["group_size"] = len(ps)
        _record(details, entry_tol, low_strata, d - wl.shape[0], full, p)
        out.append(MomentsLoss(float(value), err, shared + time.perf_counter() - t1, None, details))
    return out
