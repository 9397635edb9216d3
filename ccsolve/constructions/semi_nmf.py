"""Semi-NMF of I + M with W_in >= 0: the exact one-hot optimum over non-negative input weights.

Alternating exact solves (Numba Lawson-Hanson NNLS on a shared Gram matrix, Anderson acceleration,
neuron revival) to a KKT residual, or the reference's published recipe. Derivations: docs/math.md,
section "Constructions".
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..core import validation as v
from ..core.blas import one_blas_thread
from ..core.progress import progress_bar
from ..core.task import Task, check_task
from ..core.weights import Weights, check_weights
from ..evaluation.closed_forms import one_hot_loss, one_hot_lower_bound
from .readout import as_w_in, ls_readout
from .report import Reported
from .spectral import sign_rule, svd_factors

__all__ = ["snmf", "SNMFResult", "kkt_residual"]


@dataclass(frozen=True)
class SNMFResult(Reported):
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
        from .._kernels.nnls import nnls_gram

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
    w_in, _, s = svd_factors(T, d)
    if init == "svd":
        w_in, _ = sign_rule(w_in, np.zeros((T.shape[0], d)))
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
        A2 = ls_readout(B2, T)
        f2 = _objective(A2, B2, T)
        if f2 < f:
            A, B, f = A2, B2, f2
            revived += 1
    return A, B, f, revived


def _snmf_exact(T, d, B0, solver, tol, max_iter, accelerate, memory, bar):
    """Alternating exact solves from B0; returns (A, B, history, n_iter, kkt, n_accelerated, n_revived)."""
    B = B0
    A = ls_readout(B, T)
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
        Ag = ls_readout(Bg, T)
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
                Ac = ls_readout(Bc, T)
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
    from .._kernels.nnls import cd_nmf_update

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
    """The published recipe (the post's paper_code/nb8_test_baselines.py `semi_nmf`;
    docs/from_reference.md), row convention: T ~ U V with U >= 0 (n, d), V (d, n).

    Init: U from an NMF of |T|; then `rounds` times: V = pinv(U) T (skipped if cond(U) >= 1e12), and
    5 projected-gradient steps U <- max(U - lr (U V - T) V^T, 1e-8) with lr on a half cosine from 0.1
    to 0.001. Returns (U, V, history of ||U V - T||^2 per round).
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
        for _ in range(5):
            U = np.maximum(U - lr * ((U @ V - T) @ V.T), 1e-8)
        history.append(float(np.sum((U @ V - T) ** 2)))
        if bar is not None:
            bar.update(1)
    return U, V, np.array(history)


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
    recipe="reference": the published recipe (nb8's `semi_nmf`, docs/from_reference.md): NMF of |T| (scikit-learn's default NMF solver
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
    accelerate = v.boolean("accelerate", accelerate)
    n, d = task.n_features, task.n_neurons
    T = task.identity_plus_mixing
    if isinstance(init, Weights) or isinstance(init, np.ndarray):
        b0 = as_w_in(init, n)
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
        bar = progress_bar(progress, 500 * restarts, "SNMF (reference recipe)")
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
    bar = progress_bar(progress, max_iter * restarts, "SNMF")
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
