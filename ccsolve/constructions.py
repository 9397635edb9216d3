"""Hand-built solutions: each function takes a Task and returns Weights, or a result carrying them.

naive, naive_offset      identity on n_neurons features (+ the optimal constant offset)
svd                      truncated SVD of I + M (or M + alpha I, or M), the reference's sign rule
snmf                     semi-NMF of I + M with W_in >= 0: the exact one-hot optimum over W_in >= 0
optimal_readout          least-squares W_out for given W_in (one-hot: exact; Bernoulli p: moments)
minimize_one_hot         the exact one-hot loss minimised over both matrices, any sign
summarize                one-hot loss, lower bound, gap (and L/p at task.p on request)

Column convention: y_hat = W_out ReLU(W_in x), W_in (n_neurons, n_features), W_out (n_features,
n_neurons). Derivations: docs/math.md, section "Constructions".
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from . import _validation as v
from ._blas import one_blas_thread
from .closed_forms import naive_features, one_hot_loss, one_hot_lower_bound, optimal_offset
from .task import Task, check_task
from .weights import Weights, check_weights

__all__ = [
    "naive",
    "naive_offset",
    "svd",
    "snmf",
    "optimal_readout",
    "minimize_one_hot",
    "summarize",
    "kkt_residual",
    "one_hot_loss_and_gradient",
    "reduced_one_hot_loss_and_gradient",
    "Summary",
    "SNMFResult",
    "MinimizeResult",
    "minimize_exact",
    "ExactMinimizeResult",
]


# --------------------------------------------------------------------------------------------------
# naive
# --------------------------------------------------------------------------------------------------


def naive(task: Task, features=None) -> Weights:
    """Identity on `features` (default the first n_neurons): neuron k reads and writes feature features[k]."""
    return naive_offset(task, offset=0.0, features=features)


def naive_offset(task: Task, offset: float | None = None, features=None) -> Weights:
    """Naive plus `offset` in every unrepresented output's row of W_out.

    offset=None uses the optimal offset for the task's p and M (closed form, ccsolve.optimal_offset).
    """
    task = check_task(task)
    f = naive_features(task, features)
    offset = optimal_offset(task, f) if offset is None else v.real("offset", offset)
    n, d = task.n_features, task.n_neurons
    w_in = np.zeros((d, n))
    w_out = np.zeros((n, d))
    k = np.arange(f.size)
    w_in[k, f] = 1.0
    w_out[f, k] = 1.0
    rest = np.setdiff1d(np.arange(n), f)
    w_out[np.ix_(rest, k)] = offset
    return Weights(w_in, w_out)


# --------------------------------------------------------------------------------------------------
# reports
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """How good a set of weights is.

    one_hot_loss      exact one-hot L/p (the p -> 0 limit)
    lower_bound       ccsolve.one_hot_lower_bound: no weights have a smaller one-hot L/p
    gap               one_hot_loss - lower_bound (>= 0 up to rounding)
    loss_per_feature  L/p at `p` (Monte Carlo, ccsolve.loss_per_feature), None unless requested
    stderr            its standard error
    p, n_samples      where and how L/p was estimated
    """

    one_hot_loss: float
    lower_bound: float
    gap: float
    loss_per_feature: float | None = None
    stderr: float | None = None
    p: float | None = None
    n_samples: int = 0


@one_blas_thread
def summarize(weights, task: Task, at_p: bool = False, n_samples: int = 1 << 22, seed=0) -> Summary:
    """One-hot loss, lower bound and gap of `weights` (Weights or a result with .weights) on `task`;
    with at_p=True also L/p at task.p by Monte Carlo (n_samples samples, `seed`)."""
    task = check_task(task)
    weights = check_weights(getattr(weights, "weights", weights), task.n_features)
    if not isinstance(at_p, (bool, np.bool_)):
        raise TypeError(f"at_p must be a bool, got {type(at_p).__name__}")
    loss = one_hot_loss(weights, task.mixing)
    bound = one_hot_lower_bound(task)
    if not at_p:
        return Summary(loss, bound, loss - bound)
    from .loss import loss_per_feature

    est = loss_per_feature(weights, task.with_p(task.p), method="monte_carlo", n_samples=n_samples, seed=seed)
    return Summary(loss, bound, loss - bound, float(est.value), float(est.stderr), task.p, int(est.n_samples))


class _Reported:
    def summary(self, task: Task, at_p: bool = False, n_samples: int = 1 << 22, seed=0) -> Summary:
        """summarize(self.weights, task, ...)."""
        return summarize(self.weights, task, at_p=at_p, n_samples=n_samples, seed=seed)


# --------------------------------------------------------------------------------------------------
# least-squares readouts
# --------------------------------------------------------------------------------------------------


def _ls_readout(B: np.ndarray, T: np.ndarray) -> np.ndarray:
    """argmin_A ||A B - T||_F: A = T B^T (B B^T)^{-1}; minimum-norm (lstsq) when B B^T is singular."""
    from ._kernels.nnls import spd_solve

    G = B @ B.T
    X = np.empty((B.shape[0], T.shape[0]))
    if spd_solve(G, np.ascontiguousarray(B @ T.T), X, 1e-10):
        return X.T.copy()
    return np.linalg.lstsq(B.T, T.T, rcond=None)[0].T.copy()


def _as_w_in(W_in, n_features: int) -> np.ndarray:
    if isinstance(W_in, Weights):
        W_in = W_in.W_in
    w = v.as_matrix("W_in", W_in, shape=(None, n_features))
    return w


def _readout_moments(w_in: np.ndarray, task: Task, n_samples: int, seed):
    """(E[h h^T], E[h y^T]) for Bernoulli inputs at task.p, h = ReLU(W_in x), y = ReLU(x) + M x.

    Stratified by the number k of active features: k = 0 contributes nothing, k = 1 exactly
    (pi_1 (P P^T + N N^T) / (6n) and pi_1 (P (I+M)^T - N M^T) / (6n)), k >= 2 by Monte Carlo with
    n_samples samples drawn conditionally on k >= 2 (Numba kernel, per-chunk SplitMix64 seeds), weighted
    by P(k >= 2). Returns (G, Y).
    """
    from scipy.stats import binom

    from ._kernels.readout import moments_chunks
    from .loss import _chunks

    n, p = task.n_features, task.p
    m = task.mixing
    P = np.maximum(w_in, 0.0)
    N = np.maximum(-w_in, 0.0)
    pi = binom.pmf(np.arange(n + 1), n, p)
    pi1 = float(pi[1])
    pi2 = float(binom.sf(1, n, p))
    G = pi1 * (P @ P.T + N @ N.T) / (6.0 * n)
    Y = pi1 * (P @ (np.eye(n) + m).T - N @ m.T) / (6.0 * n)
    if pi2 > 0.0 and n >= 2:
        cdf = np.cumsum(pi[2:])
        cdf = cdf / cdf[-1]
        sizes, seeds = _chunks(n_samples, seed)
        hh, hx, hr = moments_chunks(np.ascontiguousarray(w_in.T), cdf, sizes, seeds)
        w = pi2 / n_samples
        # E[h y^T] = E[h ReLU(x)^T] + E[h x^T] M^T
        G = G + w * hh.sum(axis=0)
        Y = Y + w * (hr.sum(axis=0) + hx.sum(axis=0) @ m.T)
    return G, Y


@one_blas_thread
def optimal_readout(W_in, task: Task, n_samples: int = 1 << 18, seed=0) -> Weights:
    """Weights(W_in, W_out*) with W_out* the least-squares readout for the given input weights.

    W_in   (n_neurons, n_features) array, or Weights (its W_in is used)
    task   one-hot task: W_out* = argmin ||W_out [P, N] - [I + M, -M]||_F (P = ReLU(W_in), N = ReLU(-W_in)),
           the exact minimiser of the one-hot loss (docs/math.md). Bernoulli task: W_out* = E[y h^T]
           E[h h^T]^+ at task.p, the exact minimiser of L/p for those moments. E[h_a h_b] has no closed
           form for Bernoulli inputs: the one-active-feature stratum is exact, the k >= 2 strata are a
           Monte Carlo estimate (n_samples samples conditional on k >= 2, from `seed`; same seed, same
           readout whatever the thread count), so the readout carries a small sampling error (its
           effect on L/p is second order in the moment error).
    Neurons that never fire get a zero readout (minimum-norm solution).
    """
    task = check_task(task)
    w_in = _as_w_in(W_in, task.n_features)
    n = task.n_features
    if task.one_hot:
        P = np.maximum(w_in, 0.0)
        N = np.maximum(-w_in, 0.0)
        lhs = np.hstack([P, N]).T  # (2n, d)
        rhs = np.hstack([np.eye(n) + task.mixing, -task.mixing]).T  # (2n, n)
        w_out = np.linalg.lstsq(lhs, rhs, rcond=None)[0].T
        return Weights(w_in, w_out)
    n_samples = v.sample_count("n_samples", n_samples)
    G, Y = _readout_moments(w_in, task, n_samples, seed)
    # G is PSD with zero rows for silent neurons; lstsq gives the minimum-norm solution
    scale = max(float(np.max(np.abs(G))), 1e-300)
    w_out = np.linalg.lstsq(G / scale, Y / scale, rcond=1e-12)[0].T
    return Weights(w_in, w_out)


# --------------------------------------------------------------------------------------------------
# SVD
# --------------------------------------------------------------------------------------------------

_TARGETS = {"identity_plus_mixing", "mixing_plus_alpha", "mixing"}


def _target(task: Task, target: str, alpha: float) -> np.ndarray:
    if target == "identity_plus_mixing":
        return np.eye(task.n_features) + task.mixing
    if target == "mixing_plus_alpha":
        return task.mixing + alpha * np.eye(task.n_features)
    return task.mixing.copy()


def _sign_rule(w_in: np.ndarray, w_out: np.ndarray):
    """Flip each neuron so that its largest-magnitude input weight is positive (the reference's rule)."""
    rows = np.arange(w_in.shape[0])
    s = np.sign(w_in[rows, np.argmax(np.abs(w_in), axis=1)])
    s[s == 0] = 1.0
    return w_in * s[:, None], w_out * s[None, :]


def _svd_factors(T: np.ndarray, d: int):
    """W_in = S_d V_d^T, W_out = U_d for T = U S V^T (so W_out W_in is the best rank-d approximation)."""
    U, s, Vt = np.linalg.svd(T)
    d_eff = min(d, s.size)
    w_in = np.zeros((d, T.shape[1]))
    w_out = np.zeros((T.shape[0], d))
    w_in[:d_eff] = s[:d_eff, None] * Vt[:d_eff]
    w_out[:, :d_eff] = U[:, :d_eff]
    return w_in, w_out, s


@one_blas_thread
def svd(
    task: Task,
    target: str = "identity_plus_mixing",
    alpha: float = 0.5,
    readout: str = "svd",
    reference_orientation: bool = False,
    n_samples: int = 1 << 18,
    seed=0,
) -> Weights:
    """Truncated SVD of a target matrix as weights.

    target   "identity_plus_mixing" (I + M), "mixing_plus_alpha" (M + alpha I) or "mixing" (M)
    readout  "svd": W_in = S_d V_d^T, W_out = U_d (T = U S V^T, d = n_neurons), so the linear part
             W_out W_in is the best rank-d approximation of T; "optimal": keep that W_in and use
             optimal_readout(W_in, task, n_samples, seed) (exact one-hot readout for one-hot tasks)
    reference_orientation  True reproduces the reference code exactly: it puts U_d S_d into the input
             weights of the row convention, so its network computes T^T x (W_in = S_d U_d^T,
             W_out = V_d); identical for symmetric T, wrong for asymmetric T.
    Each neuron is then flipped so that its largest-magnitude input weight is positive (the reference's
    rule; it does not change W_out W_in but decides which half-line the ReLU passes).
    """
    task = check_task(task)
    v.choice("target", target, _TARGETS)
    alpha = v.real("alpha", alpha)
    v.choice("readout", readout, {"svd", "optimal"})
    if not isinstance(reference_orientation, (bool, np.bool_)):
        raise TypeError(f"reference_orientation must be a bool, got {type(reference_orientation).__name__}")
    T = _target(task, target, alpha)
    w_in, w_out, _ = _svd_factors(T.T if reference_orientation else T, task.n_neurons)
    w_in, w_out = _sign_rule(w_in, w_out)
    if readout == "optimal":
        return optimal_readout(w_in, task, n_samples=n_samples, seed=seed)
    return Weights(w_in, w_out)


# --------------------------------------------------------------------------------------------------
# SNMF
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SNMFResult(_Reported):
    """Semi-NMF I + M ~ W_out W_in with W_in >= 0.

    weights        the factorisation as network weights
    objective      ||W_out W_in - (I + M)||_F^2 (the labels' orientation, whatever the recipe)
    one_hot_loss   exact one-hot L/p = (objective + ||M||_F^2) / (6n) for W_in >= 0
    lower_bound    ccsolve.one_hot_lower_bound of the task; gap = one_hot_loss - lower_bound
    history        objective after each iteration, history[0] at the initial point (recipe="reference":
                   the objective that recipe minimises, in its own (transposed) orientation)
    kkt_residual   kkt_residual(weights, task) at the returned point (0 at a stationary point)
    n_iter         iterations (alternating rounds) of the returned run
    converged      kkt_residual <= tol (always False for recipe="reference": it has no stopping rule)
    seconds        wall time, all restarts
    recipe, solver, init   how it was computed
    restart_objectives     final objective of every restart (the best one is returned)
    n_accelerated  iterations whose Anderson-extrapolated point was accepted
    n_revived      neurons re-seeded after their contribution had almost vanished (kept only when that
                   lowered the objective)
    max_abs_weight largest |entry| of the (balanced) weights. The SNMF infimum need not be attained: the
                   iterates can drift along a degenerate family (a common non-negative direction added to
                   every row of W_in with a growing weight, cancelled by a null combination of W_out's
                   columns; docs/math.md). The objective then keeps decreasing slowly, the weights grow
                   without bound (a large max_abs_weight) and the run may stop at max_iter unconverged.
    """

    weights: Weights
    objective: float
    one_hot_loss: float
    lower_bound: float
    gap: float
    history: np.ndarray
    kkt_residual: float
    n_iter: int
    converged: bool
    seconds: float
    recipe: str
    solver: str
    init: str
    tol: float
    restart_objectives: tuple = ()
    n_accelerated: int = 0
    n_revived: int = 0
    max_abs_weight: float = float("nan")

    def __repr__(self):
        return (
            f"SNMFResult(recipe={self.recipe!r}, objective={self.objective:.8g}, one_hot_loss={self.one_hot_loss:.6g}, "
            f"gap={self.gap:.3g}, kkt_residual={self.kkt_residual:.2g}, n_iter={self.n_iter}, "
            f"converged={self.converged})"
        )


def _kkt_parts(A: np.ndarray, B: np.ndarray, T: np.ndarray) -> float:
    R = A @ B - T
    GB = A.T @ R
    GA = R @ B.T
    PG = np.where(B > 0.0, GB, np.minimum(GB, 0.0))
    nt = np.linalg.norm(T)
    na, nb = np.linalg.norm(A), np.linalg.norm(B)
    ra = np.linalg.norm(GA) / (nb * nt) if nb > 0 else 0.0
    rb = np.linalg.norm(PG) / (na * nt) if na > 0 else 0.0
    return float(max(ra, rb))


@one_blas_thread
def kkt_residual(weights: Weights, task: Task) -> float:
    """Scale-free KKT residual of min ||W_out W_in - (I + M)||_F^2 subject to W_in >= 0.

    With A = W_out, B = W_in, R = A B - T and the gradients G_A = R B^T, G_B = A^T R (of 1/2 ||R||^2),
    the projected gradient PG_B equals G_B where B > 0 and min(G_B, 0) where B = 0. Returns

        max( ||PG_B||_F / (||A||_F ||T||_F),  ||G_A||_F / (||B||_F ||T||_F) ),

    zero exactly at the KKT points, invariant under rescaling neurons by c (A -> A c, B -> B / c) and
    under scaling T, A, B together. W_in must be >= 0.
    """
    task = check_task(task)
    weights = check_weights(weights, task.n_features)
    if weights.n_neurons != task.n_neurons:
        raise ValueError(f"weights have n_neurons={weights.n_neurons}, the task has {task.n_neurons}")
    if np.any(weights.W_in < 0):
        raise ValueError("kkt_residual is defined for W_in >= 0 (the SNMF problem); W_in has negative entries")
    return _kkt_parts(weights.W_out, weights.W_in, task.identity_plus_mixing)


def _b_step(A: np.ndarray, T: np.ndarray, B: np.ndarray, solver: str) -> np.ndarray:
    """argmin_{B >= 0} ||A B - T||_F (n independent NNLS problems), warm-started from B."""
    if solver == "nnls":
        from ._kernels.nnls import nnls_gram

        out = np.array(B, dtype=np.float64, order="C", copy=True)
        _, status = nnls_gram(A.T @ A, np.ascontiguousarray(A.T @ T), out, 1e-12, 20 * A.shape[1] + 100)
        if np.any(status == 1) or np.any(status == 2):
            # rare numerical trouble (iteration cap or a singular passive block): scipy's solver
            from scipy.optimize import nnls as sp_nnls

            for j in np.flatnonzero((status == 1) | (status == 2)):
                out[:, j] = sp_nnls(A, T[:, j], maxiter=50 * A.shape[1])[0]
        return out
    if solver == "scipy":
        from scipy.optimize import nnls as sp_nnls

        return np.column_stack([sp_nnls(A, T[:, j], maxiter=50 * A.shape[1])[0] for j in range(T.shape[1])])
    # solver == "cvxpy": the oracle, one problem for the whole (separable) matrix, default solver
    import cvxpy as cp

    X = cp.Variable((A.shape[1], T.shape[1]), nonneg=True)
    prob = cp.Problem(cp.Minimize(cp.sum_squares(A @ X - T)))
    prob.solve()
    if X.value is None:
        raise RuntimeError(f"cvxpy failed on an NNLS subproblem (status {prob.status})")
    return np.maximum(np.asarray(X.value), 0.0)


def _objective(A, B, T) -> float:
    R = A @ B - T
    return float(np.sum(R * R))


def _snmf_init(T: np.ndarray, d: int, init, gen: np.random.Generator) -> np.ndarray:
    n = T.shape[1]
    if isinstance(init, np.ndarray):
        return init.copy()
    if init == "random":
        avg = np.sqrt(np.mean(np.abs(T)) / d)
        return avg * np.abs(gen.standard_normal((d, n)))
    w_in, _, s = _svd_factors(T, d)
    if init == "svd":
        w_in, _ = _sign_rule(w_in, np.zeros((T.shape[0], d)))
        return np.maximum(w_in, 0.0)
    # nndsvd (semi-NMF form): only the right factor must be >= 0, so each singular pair keeps the
    # sign of v_k whose positive part is larger
    _, _, Vt = np.linalg.svd(T)
    out = np.zeros((d, n))
    d_eff = min(d, s.size)
    for k in range(d_eff):
        pos, neg = np.maximum(Vt[k], 0.0), np.maximum(-Vt[k], 0.0)
        out[k] = np.sqrt(s[k]) * (pos if np.linalg.norm(pos) >= np.linalg.norm(neg) else neg)
    return out


def _balanced(w_in: np.ndarray, w_out: np.ndarray) -> Weights:
    """Rescale each neuron so that ||W_out[:, k]|| = ||W_in[k]||: a positive per-neuron rescaling changes
    neither the network function (ReLU is positively homogeneous) nor W_out W_in."""
    a = np.linalg.norm(w_out, axis=0)
    b = np.linalg.norm(w_in, axis=1)
    ok = (a > 0) & (b > 0)
    s = np.ones_like(a)
    s[ok] = np.sqrt(a[ok] / b[ok])
    return Weights(w_in * s[:, None], w_out / s[None, :])


_REVIVE = True  # tests switch it off to show its effect


def _revive(A, B, T, f, ratio=1e-3, power_steps=30):
    """Re-seed neurons whose contribution ||A_k|| ||B_k|| fell below `ratio` times the largest one.

    Alternation can creep towards a degenerate stationary point where a neuron's output vanishes
    (sublinear convergence, a saddle: any b >= 0 with R b != 0 would lower the objective). Such a
    neuron gets b = the non-negative direction maximising ||R_k b|| / ||b|| (projected power iteration
    on the residual R_k without it) and the readout is re-solved; the move is kept only if it lowers
    the objective. Returns (A, B, f, number of neurons revived).
    """
    contrib = np.linalg.norm(A, axis=0) * np.linalg.norm(B, axis=1)
    dying = np.flatnonzero(contrib < ratio * contrib.max())
    revived = 0
    for k in dying:
        R = T - A @ B + np.outer(A[:, k], B[k])
        b = np.maximum(R.T @ np.abs(R).sum(axis=1), 0.0)
        if not np.any(b > 0):
            b = np.maximum(-(R.T @ np.abs(R).sum(axis=1)), 0.0)
        for _ in range(power_steps):
            nb = np.linalg.norm(b)
            if nb == 0.0:
                break
            b = np.maximum(R.T @ (R @ (b / nb)), 0.0)
        if not np.any(b > 0):
            continue
        B2 = B.copy()
        B2[k] = b / np.linalg.norm(b) * np.linalg.norm(B) / np.sqrt(B.shape[0])
        A2 = _ls_readout(B2, T)
        f2 = _objective(A2, B2, T)
        if f2 < f:
            A, B, f = A2, B2, f2
            revived += 1
    return A, B, f, revived


def _snmf_exact(T, d, B0, solver, tol, max_iter, accelerate, memory, bar):
    """Alternating exact solves from B0; returns (A, B, history, n_iter, kkt, n_accelerated, n_revived)."""
    B = B0
    A = _ls_readout(B, T)
    f = _objective(A, B, T)
    history = [f]
    xs, gs = [], []  # Anderson memory: iterates and their images under one alternating round
    n_acc = 0
    n_rev = 0
    next_revive = 0
    it = 0
    res = _kkt_parts(A, B, T)
    while res > tol and it < max_iter:
        it += 1
        if _REVIVE and it >= next_revive:
            A, B, f, k = _revive(A, B, T, f)
            n_rev += k
            if k:
                xs, gs = [], []
            else:
                # nothing to revive (or no gain): look again in a while, not every round
                next_revive = it + 50
        x = B
        Bg = _b_step(A, T, B, solver)
        Ag = _ls_readout(Bg, T)
        fg = _objective(Ag, Bg, T)
        A, B, f = Ag, Bg, fg
        if accelerate:
            xs.append(x)
            gs.append(Bg)
            if len(xs) > memory + 1:
                xs.pop(0)
                gs.pop(0)
            if len(xs) >= 2:
                # type-II Anderson: the combination of the last rounds whose residual g(x) - x is smallest
                r = np.array([(g - x_).ravel() for x_, g in zip(xs, gs)])
                dr = np.diff(r, axis=0).T
                dg = np.diff(np.array([g.ravel() for g in gs]), axis=0).T
                gamma = np.linalg.lstsq(dr.T @ dr, dr.T @ r[-1], rcond=1e-12)[0]
                Bc = np.maximum(Bg - (dg @ gamma).reshape(Bg.shape), 0.0)
                Ac = _ls_readout(Bc, T)
                fc = _objective(Ac, Bc, T)
                if fc < fg:
                    # kept only if better than the plain round: the objective never increases
                    A, B, f = Ac, Bc, fc
                    n_acc += 1
                else:
                    xs, gs = [x], [Bg]
        history.append(f)
        res = _kkt_parts(A, B, T)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(objective=f"{f:.8g}", kkt=f"{res:.2e}", refresh=False)
    return A, B, np.array(history), it, res, n_acc, n_rev


def _nmf_sklearn_like(X: np.ndarray, d: int, random_state: int, max_iter: int = 5000, tol: float = 1e-4):
    """NMF X ~ W H (both >= 0) as scikit-learn's NMF(init="random", solver="cd", random_state, max_iter)
    computes it: the same random initialisation (legacy RandomState), coordinate-descent sweeps and
    stopping rule (summed projected gradient / its first value <= tol). Returns W (n, d)."""
    from ._kernels.nnls import cd_nmf_update

    n_samples, n_feat = X.shape
    avg = np.sqrt(X.mean() / d)
    rs = np.random.RandomState(random_state)
    H = np.abs(avg * rs.standard_normal(size=(d, n_feat)))
    W = np.abs(avg * rs.standard_normal(size=(n_samples, d)))
    Ht = np.ascontiguousarray(H.T)
    violation_init = None
    for _ in range(max_iter):
        violation = cd_nmf_update(W, Ht.T @ Ht, np.ascontiguousarray(X @ Ht))
        violation += cd_nmf_update(Ht, W.T @ W, np.ascontiguousarray(X.T @ W))
        if violation_init is None:
            violation_init = violation
        if violation_init == 0 or violation / violation_init <= tol:
            break
    return W


def _snmf_reference(T: np.ndarray, d: int, random_state: int, rounds: int = 500, bar=None):
    """The published recipe (SETUP.md), row convention: T ~ U V with U >= 0 (n, d), V (d, n).

    Init: U from an NMF of |T|; then `rounds` times: V = pinv(U) T (skipped if cond(U) >= 1e12), and
    5 projected-gradient steps U <- max(U - lr (U V - T) V^T, 1e-8) with lr on a half cosine from 0.1
    to 0.001. Returns (U, V, history of ||U V - T||^2 per round). Where the fixed-step gradient steps
    overflow (e.g. clean M with n_neurons = n_features), the published recipe would return NaN: this one
    stops at the last iterate with finite entries <= MAX_ABS instead (history then has fewer than
    rounds + 1 entries).
    """
    U = _nmf_sklearn_like(np.abs(T), d, random_state)
    V = np.linalg.pinv(U) @ T
    history = [float(np.sum((U @ V - T) ** 2))]
    lr0, lr1 = 0.1, 0.001
    for it in range(rounds):
        lr = lr1 + 0.5 * (lr0 - lr1) * (1.0 + np.cos(np.pi * it / rounds))
        s = np.linalg.svd(U, compute_uv=False)
        if s[-1] > 0 and s[0] / s[-1] < 1e12:
            V = np.linalg.pinv(U) @ T
        U_prev, V_prev = U, V
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(5):
                U = np.maximum(U - lr * ((U @ V - T) @ V.T), 1e-8)
            err = float(np.sum((U @ V - T) ** 2))
        if not (np.isfinite(err) and max(np.abs(U).max(), np.abs(V).max()) <= v.MAX_ABS):
            # diverged: keep the last finite iterate
            U, V = U_prev, V_prev
            break
        history.append(err)
        if bar is not None:
            bar.update(1)
    return U, V, np.array(history)


def _progress_bar(progress, total, desc):
    if not isinstance(progress, (bool, np.bool_)):
        raise TypeError(f"progress must be a bool, got {type(progress).__name__}")
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False)


@one_blas_thread
def snmf(
    task: Task,
    solver: str = "nnls",
    init="svd",
    restarts: int = 1,
    seed=0,
    tol: float = 1e-6,
    max_iter: int = 10_000,
    recipe: str = "exact",
    accelerate: bool = True,
    progress: bool = False,
) -> SNMFResult:
    """Semi-NMF of T = I + M: min ||W_out W_in - T||_F^2 over W_out (free) and W_in >= 0.

    For W_in >= 0 the one-hot loss is (||W_out W_in - T||_F^2 + ||M||_F^2) / (6n), so a global
    minimiser is the best possible one-hot solution with non-negative input weights (docs/math.md).

    recipe="exact" (default): alternating exact solves from `init` until kkt_residual <= tol or
      max_iter rounds. Each round: W_in <- argmin_{W_in >= 0} (n independent NNLS problems, warm-started;
      solver "nnls": Lawson-Hanson on the shared Gram matrix W_out^T W_out (Numba), "scipy":
      scipy.optimize.nnls per column, "cvxpy": cvxpy with its default solver (the test oracle; slow)),
      then W_out <- the least-squares solution. accelerate=True adds a type-II Anderson extrapolation
      (memory 5) over the rounds, kept only when it lowers the objective, so the objective history never
      increases. init: "svd" (truncated SVD of T, sign rule, clipped at 0), "nndsvd", "random"
      (|N(0, 1)| sqrt(mean|T| / d)) or a Weights / (d, n) array with W_in >= 0.
      restarts > 1 adds restarts - 1 runs from random inits; the best objective is returned, with each
      neuron rescaled so that ||W_out[:, k]|| = ||W_in[k]|| (same function, same objective). A neuron
      whose contribution almost vanishes is re-seeded from the residual when that lowers the objective.
      The infimum need not be attained (see SNMFResult.max_abs_weight): then the run ends at max_iter
      with converged=False and growing weights.
    recipe="reference": the published recipe (SETUP.md): NMF of |T| (scikit-learn's default NMF solver
      with init="random", random_state=seed, reproduced), then 500 rounds of least squares + 5
      projected-gradient steps, in the reference's TRANSPOSED orientation (its network computes
      T^T x). solver, init, tol, max_iter and accelerate are ignored; restart r uses random_state
      seed + r. objective and one_hot_loss are still those of the labels' orientation.
    seed: int (or Generator for recipe="exact").
    """
    t0 = time.perf_counter()
    task = check_task(task)
    v.choice("recipe", recipe, {"exact", "reference"})
    v.choice("solver", solver, {"nnls", "scipy", "cvxpy"})
    restarts = v.positive_int("restarts", restarts)
    tol = v.non_negative("tol", tol)
    max_iter = v.positive_int("max_iter", max_iter, minimum=0)
    if not isinstance(accelerate, (bool, np.bool_)):
        raise TypeError(f"accelerate must be a bool, got {type(accelerate).__name__}")
    n, d = task.n_features, task.n_neurons
    T = task.identity_plus_mixing
    if isinstance(init, Weights) or isinstance(init, np.ndarray):
        b0 = _as_w_in(init, n)
        if b0.shape[0] != d:
            raise ValueError(f"init must have {d} neurons (rows of W_in), got {b0.shape[0]}")
        if np.any(b0 < 0):
            raise ValueError("init W_in must be >= 0 (SNMF keeps the input weights non-negative)")
        init, init_name = b0, "weights"
    else:
        v.choice("init", init, {"svd", "nndsvd", "random"})
        init_name = init
    if recipe == "reference":
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise TypeError(f"recipe='reference' needs an int seed >= 0 (scikit-learn's random_state), got {seed!r}")
        bar = _progress_bar(progress, 500 * restarts, "SNMF (reference recipe)")
        runs = []
        for r in range(restarts):
            U, V, hist = _snmf_reference(T, d, int(seed) + r, bar=bar)
            w = Weights.from_row_convention(U, V)
            runs.append((_objective(w.W_out, w.W_in, T), w, hist))
        if bar is not None:
            bar.close()
        obj, w, hist = min(runs, key=lambda x: x[0])
        res = kkt_residual(w, task)
        loss = one_hot_loss(w, task.mixing)
        bound = one_hot_lower_bound(task)
        return SNMFResult(w, obj, loss, bound, loss - bound, hist, res, 500, False, time.perf_counter() - t0,
                          "reference", "projected_gradient", "nmf_abs", float("nan"),
                          tuple(r[0] for r in runs), 0, 0, float(max(np.abs(w.W_in).max(), np.abs(w.W_out).max())))
    if solver == "cvxpy" and max(n, d) > 60:
        raise ValueError("solver='cvxpy' is the slow test oracle: use it for n_features, n_neurons <= 60")
    seqs = v.seed_sequence(seed).spawn(restarts)
    bar = _progress_bar(progress, max_iter * restarts, "SNMF")
    runs = []
    for r in range(restarts):
        gen = np.random.default_rng(seqs[r])
        b0 = _snmf_init(T, d, init if r == 0 else "random", gen)
        A, B, hist, it, res, n_acc, n_rev = _snmf_exact(T, d, b0, solver, tol, max_iter, bool(accelerate), 5, bar)
        runs.append((hist[-1], A, B, hist, it, res, n_acc, n_rev))
    if bar is not None:
        bar.close()
    obj, A, B, hist, it, res, n_acc, n_rev = min(runs, key=lambda x: x[0])
    w = _balanced(B, A)
    loss = one_hot_loss(w, task.mixing)
    bound = one_hot_lower_bound(task)
    return SNMFResult(w, float(obj), loss, bound, loss - bound, hist, float(res), int(it), bool(res <= tol),
                      time.perf_counter() - t0, "exact", solver, init_name, float(tol),
                      tuple(float(r[0]) for r in runs), int(n_acc), int(n_rev),
                      float(max(np.abs(w.W_in).max(), np.abs(w.W_out).max())))


# --------------------------------------------------------------------------------------------------
# exact one-hot minimisation
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MinimizeResult(_Reported):
    """The one-hot loss minimised over (W_in, W_out), any sign.

    weights       best weights over all inits
    objective     their one-hot L/p (= one_hot_loss)
    one_hot_loss, lower_bound, gap   as in Summary
    n_iter        quasi-Newton iterations of the best run
    converged     scipy's success flag of the best run
    message       scipy's message of the best run
    init          the init the best run started from
    runs          one dict per init: init, one_hot_loss, start_loss, n_iter, converged, message
    seconds       wall time, all runs (the SNMF init included)
    """

    weights: Weights
    objective: float
    one_hot_loss: float
    lower_bound: float
    gap: float
    n_iter: int
    converged: bool
    message: str
    init: str
    seconds: float
    runs: tuple = field(default_factory=tuple)

    def __repr__(self):
        return (
            f"MinimizeResult(one_hot_loss={self.one_hot_loss:.8g}, gap={self.gap:.3g}, init={self.init!r}, "
            f"n_iter={self.n_iter}, converged={self.converged})"
        )


_NO_W_OUT = object()


def _check_gradient_args(W_in, W_out, mixing):
    """Validate (W_in, W_out or None, mixing) of the public gradient functions (names the culprit)."""
    if isinstance(mixing, Task):
        mixing = mixing.mixing
    m = v.square_matrix("mixing", mixing)
    n = m.shape[0]
    w_in = v.as_matrix("W_in", W_in)
    if w_in.shape[1] != n:
        hint = " -- it looks transposed" if w_in.shape[0] == n else ""
        raise ValueError(f"W_in must have shape (n_neurons, {n}) for a mixing of shape {m.shape}, got "
                         f"{w_in.shape}{hint}")
    if W_out is _NO_W_OUT:
        return w_in, None, m
    d = w_in.shape[0]
    w_out = v.as_matrix("W_out", W_out)
    if w_out.shape != (n, d):
        hint = " -- it looks transposed" if w_out.shape == (d, n) else ""
        raise ValueError(f"W_out must have shape ({n}, {d}) (n_features, n_neurons) for W_in of shape "
                         f"{w_in.shape}, got {w_out.shape}{hint}")
    return w_in, w_out, m


@one_blas_thread
def one_hot_loss_and_gradient(W_in: np.ndarray, W_out: np.ndarray, mixing: np.ndarray):
    """(L, dL/dW_in, dL/dW_out) of the exact one-hot loss L = (||W_out P - (I+M)||^2 + ||W_out N + M||^2)/(6n).

    P = max(W_in, 0), N = max(-W_in, 0); at W_in = 0 both branches are inactive: the subgradient 0 is
    used there (docs/math.md). W_in (n_neurons, n_features), W_out (n_features, n_neurons) and mixing
    (n_features, n_features) (or a Task) are validated like every public input.
    """
    return _one_hot_loss_and_gradient(*_check_gradient_args(W_in, W_out, mixing))


def _one_hot_loss_and_gradient(W_in: np.ndarray, W_out: np.ndarray, mixing: np.ndarray):
    n = mixing.shape[0]
    P = np.maximum(W_in, 0.0)
    N = np.maximum(-W_in, 0.0)
    R1 = W_out @ P
    R1[np.diag_indices(n)] -= 1.0
    R1 -= mixing
    R2 = W_out @ N + mixing
    c = 1.0 / (6.0 * n)
    loss = c * (np.sum(R1 * R1) + np.sum(R2 * R2))
    g_out = 2.0 * c * (R1 @ P.T + R2 @ N.T)
    g_in = 2.0 * c * np.where(W_in > 0, W_out.T @ R1, np.where(W_in < 0, -(W_out.T @ R2), 0.0))
    return float(loss), g_in, g_out


def _kaiming_like(task: Task, gen) -> Weights:
    n, d = task.n_features, task.n_neurons
    # the reference's PyTorch init, in the column convention
    return Weights(gen.uniform(-1, 1, (d, n)) * np.sqrt(6.0 / d), gen.uniform(-1, 1, (n, d)) * np.sqrt(6.0 / n))


def _one_hot_readout(w_in: np.ndarray, T: np.ndarray, mixing: np.ndarray) -> np.ndarray:
    """argmin_W ||W [P, N] - [T, -M]||_F via the d x d normal equations (lstsq if singular)."""
    from ._kernels.nnls import spd_solve

    P = np.maximum(w_in, 0.0)
    N = np.maximum(-w_in, 0.0)
    G = P @ P.T + N @ N.T
    rhs = np.ascontiguousarray(P @ T.T - N @ mixing.T)
    X = np.empty_like(rhs)
    if spd_solve(G, rhs, X, 1e-10):
        return X.T.copy()
    F = np.hstack([P, N])
    return np.linalg.lstsq(F.T, np.hstack([T, -mixing]).T, rcond=None)[0].T.copy()


@one_blas_thread
def reduced_one_hot_loss_and_gradient(W_in: np.ndarray, mixing: np.ndarray):
    """(L*, dL*/dW_in) of the one-hot loss with the optimal readout eliminated (variable projection):
    L*(W_in) = min_{W_out} L(W_in, W_out). By Danskin's theorem its gradient is the partial gradient of L
    at W_out = W_out*(W_in) (docs/math.md). Also returns W_out*. Inputs validated as in
    one_hot_loss_and_gradient."""
    w_in, _, m = _check_gradient_args(W_in, _NO_W_OUT, mixing)
    return _reduced_one_hot_loss_and_gradient(w_in, m)


def _reduced_one_hot_loss_and_gradient(W_in: np.ndarray, mixing: np.ndarray):
    n = mixing.shape[0]
    T = np.eye(n) + mixing
    w_out = _one_hot_readout(W_in, T, mixing)
    loss, g_in, _ = _one_hot_loss_and_gradient(W_in, w_out, mixing)
    return loss, g_in, w_out


@one_blas_thread
def minimize_one_hot(
    task: Task,
    init="auto",
    n_inits: int = 1,
    seed=0,
    method: str = "L-BFGS-B",
    tol: float = 1e-9,
    ftol: float = 1e-12,
    max_iter: int = 2000,
    perturb: float = 1e-6,
    progress: bool = False,
) -> MinimizeResult:
    """Minimise the exact one-hot loss over W_in (any sign) and W_out with a scipy quasi-Newton method.

    W_out is eliminated exactly (variable projection: for given W_in the optimal readout is a least-squares
    solve), so the quasi-Newton method runs on W_in alone with the analytic gradient of the reduced loss
    (reduced_one_hot_loss_and_gradient), which converges much faster than a joint run on both matrices.
    init     "auto" (= ["snmf", "svd", "random"]), "snmf" (snmf(task, seed=seed)), "svd" (svd(task)),
             "naive", "random" (the reference's Kaiming-uniform init), a Weights (its W_in is used), or a
             list of these
    n_inits  number of random starts each "random" entry expands to
    method   "L-BFGS-B" (default) or "CG", on the loss times 6n (a sum of squares); tol is scipy's gtol
             on that scaled gradient, ftol L-BFGS-B's relative-decrease stop, max_iter the iteration cap.
             The loss has kinks where W_in entries cross 0, and convergence near the end is slow: with the
             defaults a run usually stops at the iteration cap (converged=False) a little above its
             local minimum; raise max_iter for more digits.
    perturb  entries of W_in with |w| < perturb * max|W_in| are moved to +-perturb * max|W_in| (random
             signs): the ReLU subgradient at exactly 0 is 0, so an SNMF or naive init could never move
             them otherwise
    The best run (lowest one-hot loss) is returned with every run's summary in .runs. The loss is
    piecewise quadratic and not convex: the result is a local minimum, never below one_hot_lower_bound.
    """
    from scipy.optimize import minimize

    t0 = time.perf_counter()
    task = check_task(task)
    v.choice("method", method, {"L-BFGS-B", "CG"})
    n_inits = v.positive_int("n_inits", n_inits)
    tol = v.positive("tol", tol)
    ftol = v.non_negative("ftol", ftol)
    max_iter = v.positive_int("max_iter", max_iter)
    perturb = v.non_negative("perturb", perturb)
    n, d = task.n_features, task.n_neurons
    expanded = v.expand_inits(init, n, d, {"snmf", "svd", "naive", "random"}, ["snmf", "svd", "random"],
                              {"random": n_inits})
    gen = v.rng(seed)
    mixing = task.mixing
    scale = 6.0 * n

    def fun(x):
        loss, g_in, _ = _reduced_one_hot_loss_and_gradient(x.reshape(d, n), mixing)
        return loss * scale, g_in.ravel() * scale

    bar = _progress_bar(progress, len(expanded), "minimize_one_hot")
    runs = []
    best = None
    for name, w0 in expanded:
        if name == "snmf":
            w0 = snmf(task, seed=seed).weights
        elif name == "svd":
            w0 = svd(task)
        elif name == "naive":
            w0 = naive(task)
        elif name == "random":
            w0 = _kaiming_like(task, gen)
        w_in = np.array(w0.W_in)
        s = np.max(np.abs(w_in)) if np.any(w_in) else 1.0
        small = np.abs(w_in) < perturb * s
        w_in[small] = perturb * s * np.where(gen.random(int(small.sum())) < 0.5, -1.0, 1.0)
        start = one_hot_loss(w0, mixing)
        opts = {"maxiter": max_iter, "gtol": tol}
        if method == "L-BFGS-B":
            opts.update({"ftol": ftol, "maxcor": 20, "maxfun": 2 * max_iter})
        res = minimize(fun, w_in.ravel(), jac=True, method=method, options=opts)
        w_in = res.x.reshape(d, n)
        w = Weights(w_in, _one_hot_readout(w_in, np.eye(n) + mixing, mixing))
        loss = one_hot_loss(w, mixing)
        runs.append({"init": name, "one_hot_loss": loss, "start_loss": start, "n_iter": int(res.nit),
                     "converged": bool(res.success), "message": str(res.message)})
        if best is None or loss < best[0]:
            best = (loss, w, res, name)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    loss, w, res, name = best
    bound = one_hot_lower_bound(task)
    return MinimizeResult(w, loss, loss, bound, loss - bound, int(res.nit), bool(res.success), str(res.message),
                          name, time.perf_counter() - t0, tuple(runs))


# --------------------------------------------------------------------------------------------------
# the stratified objective at p (issue 8): implemented in ccsolve/exact_objective.py
# --------------------------------------------------------------------------------------------------

from .exact_objective import ExactMinimizeResult, minimize_exact  # noqa: E402
