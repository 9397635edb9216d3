"""Sampling-free optimisation of the stratified loss (issue 8). Re-exported by ccsolve.constructions.

The objective at feature probability p is the stratified form of L/p (docs/math.md, "Optimising the
exact objective"):

    F(W) = w_1 E_1 + w_2 E_2 + sum_{k=3..k_max} w_k E_k^(S),   w_k = C(n, k) p^k (1 - p)^(n - k) / (n p)

with E_1 (one-hot closed form) and E_2 (exact pair integral, ccsolve.stratified.pair_loss) exact and
E_k^(S) the mean squared error over a FIXED set of seeded samples with exactly k active features
(common random numbers: the same samples at every evaluation), or the tail dropped (tail="ignore").
F and its analytic gradient are deterministic; scipy's quasi-Newton methods minimise it directly.

Public: `ExactObjective` (value, gradient, optimal readout), `minimize_exact` -> `ExactMinimizeResult`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..core import validation as v
from ..core.results import SolverResult
from ..core.blas import one_blas_thread
from ..evaluation.closed_forms import one_hot_loss, one_hot_lower_bound
from ..core.task import Task, check_task
from ..core.progress import progress_bar
from ..core.weights import Weights, check_weights
from .inits import INITS, expand_inits, initial_weights

__all__ = ["ExactObjective", "ExactMinimizeResult", "minimize_exact"]

TAIL_BLOCKS = 32  # fixed number of sample blocks: the unit of parallel work (result independent of threads)
TAIL_CHUNK = 4096  # samples per seeding chunk when drawing
MIN_TAIL_SAMPLES = 256  # fewest samples in a kept stratum
DEFAULT_TAIL_SAMPLES = 1 << 15
TAIL_TRUNC = 1e-4  # default k_max: the strata left out carry at most this much of sum_k k w_k (= 1)


def default_k_max(n: int, p: float, trunc: float = TAIL_TRUNC) -> int:
    """Smallest k_max >= 2 with sum_{k > k_max} k w_k(p) <= trunc (sum_k k w_k = 1: the share of L/p
    the strata above k_max would carry if E_k were proportional to k)."""
    from ..evaluation.stratified import stratum_weights

    w = stratum_weights(n, p)
    k = np.arange(n + 1)
    above = np.cumsum((k * w)[::-1])[::-1]  # above[j] = sum_{k >= j}
    for km in range(2, n + 1):
        if km == n or above[km + 1] <= trunc:
            return km
    return n


class ExactObjective:
    """F(W) at task.p: exact strata k = 1, 2 plus a fixed-sample tail (see the module docstring).

    task         ccsolve.Task; one-hot tasks give F = E_1 (the p -> 0 limit) and no tail
    tail         "monte_carlo" (fixed seeded samples for k = 3..k_max) or "ignore" (F = w_1 E_1 + w_2 E_2)
    n_tail_samples  total tail samples, allocated over the strata in proportion to k w_k (each stratum
                 at least MIN_TAIL_SAMPLES)
    k_max        largest sampled stratum (default: default_k_max(n, p))
    seed         seeds the tail samples (int, SeedSequence or Generator)

    Attributes: ks, counts (tail strata and their sample counts), weights_k (w_k for k = 0..n),
    truncation (sum_{k > k_max} k w_k: what F leaves out, relative to E_k / k).
    Methods: value(W), value_and_grad(W) -> (F, dF/dW_in (d, n), dF/dW_out (n, d)), readout(W_in) -> W_out
    minimising F for that W_in (F is quadratic in W_out).
    """

    def __init__(self, task: Task, tail: str = "monte_carlo", n_tail_samples: int = DEFAULT_TAIL_SAMPLES,
                 k_max: int | None = None, seed=0):
        from ..evaluation.stratified import stratum_weights

        self.task = task = check_task(task)
        self.tail = v.choice("tail", tail, {"monte_carlo", "ignore"})
        n = task.n_features
        self.n_tail_samples = v.positive_int("n_tail_samples", n_tail_samples)
        self.one_hot = bool(task.one_hot)
        if self.one_hot:
            self.weights_k = np.zeros(n + 1)
            self.weights_k[1] = 1.0
            self.k_max = 1
        else:
            self.weights_k = stratum_weights(n, task.p)
            if n < 2:
                raise ValueError(f"task has n_features={n}: the exact objective at p needs n_features >= 2 "
                                 "(with one feature every input is one-hot: use Task(..., one_hot=True))")
            if k_max is None:
                k_max = default_k_max(n, task.p)
            self.k_max = v.positive_int("k_max", k_max, minimum=2)
            if self.k_max > n:
                raise ValueError(f"k_max must be <= n_features={n}, got {self.k_max}")
        k = np.arange(n + 1)
        use_tail = self.tail == "monte_carlo" and not self.one_hot and self.k_max >= 3
        self.ks = np.arange(3, self.k_max + 1) if use_tail else np.zeros(0, dtype=np.int64)
        first_left = 3 if not use_tail else self.k_max + 1
        self.truncation = float(np.sum((k * self.weights_k)[first_left:])) if not self.one_hot else 0.0
        self.m = np.asarray(task.mixing)
        self.counts = np.zeros(0, dtype=np.int64)
        if use_tail:
            self._draw(v.seed_sequence(seed))

    def _draw(self, ss: np.random.SeedSequence) -> None:
        from .._kernels.tail import draw_stratum

        n = self.task.n_features
        w = self.weights_k[self.ks]
        share = self.ks * w
        counts = np.maximum(MIN_TAIL_SAMPLES, np.ceil(self.n_tail_samples * share / share.sum())).astype(np.int64)
        self.counts = counts
        km = int(self.ks[-1])
        total = int(counts.sum())
        idx = np.zeros((total, km), dtype=np.int64)
        val = np.zeros((total, km))
        kk = np.empty(total, dtype=np.int64)
        wt = np.empty(total)
        pos = 0
        for k, cnt, wk in zip(self.ks, counts, w):
            n_chunks = -(-int(cnt) // TAIL_CHUNK)
            sizes = np.full(n_chunks, TAIL_CHUNK, dtype=np.int64)
            sizes[-1] = cnt - TAIL_CHUNK * (n_chunks - 1)
            child = np.random.SeedSequence(ss.entropy, spawn_key=tuple(ss.spawn_key) + (int(k),))
            seeds = child.generate_state(n_chunks, dtype=np.uint64)
            i_k, v_k = draw_stratum(n, int(k), sizes, seeds)
            idx[pos:pos + cnt, :k] = i_k
            val[pos:pos + cnt, :k] = v_k
            kk[pos:pos + cnt] = k
            wt[pos:pos + cnt] = wk / cnt
            pos += cnt
        # interleave strata over blocks: blocks of similar cost, same result for any thread count
        order = np.argsort(np.arange(total) % TAIL_BLOCKS, kind="stable")
        self._idx, self._val, self._kk, self._wt = idx[order], val[order], kk[order], wt[order]
        self._blocks = np.linspace(0, total, min(TAIL_BLOCKS, total) + 1).astype(np.int64)

    # ------------------------------------------------------------------------------------------

    def _tail(self, w_in: np.ndarray, w_out: np.ndarray, grad: bool):
        from .._kernels.tail import tail_blocks

        m = self.m
        arrays = (v.c_float64(w_in.T), v.c_float64(w_out), v.c_float64(w_out.T @ w_out), v.c_float64(m.T @ w_out), v.c_float64(m.T), v.c_float64(m.T @ m))
        vals, gin_t, hh, rh, xh = tail_blocks(*arrays, self._idx, self._val, self._kk, self._wt, self._blocks,
                                              bool(grad))
        value = float(np.sum(vals))
        if not grad:
            return value, None
        return value, (np.sum(gin_t, axis=0).T, np.sum(hh, axis=0), np.sum(rh, axis=0) + m @ np.sum(xh, axis=0))

    def _check(self, weights) -> Weights:
        w = check_weights(getattr(weights, "weights", weights), self.task.n_features)
        if w.n_neurons != self.task.n_neurons:
            raise ValueError(f"weights have n_neurons={w.n_neurons}, the task has {self.task.n_neurons}")
        return w

    def terms(self, weights) -> dict:
        """{"E_1", "E_2", "tail"}: the exact strata and the weighted tail sum_k w_k E_k^(S)."""
        from ..evaluation.stratified import pair_loss

        w = self._check(weights)
        out = {"E_1": one_hot_loss(w, self.m), "E_2": 0.0, "tail": 0.0}
        if not self.one_hot:
            out["E_2"] = pair_loss(w, self.m)
            if self.ks.size:
                out["tail"] = self._tail(w.W_in, w.W_out, False)[0]
        return out

    @one_blas_thread
    def value(self, weights) -> float:
        """F(weights)."""
        t = self.terms(weights)
        return float(self.weights_k[1] * t["E_1"] + self.weights_k[2] * t["E_2"] + t["tail"])

    def _value_and_grad(self, w: Weights):
        from ..evaluation.stratified import pair_loss, single_loss

        e1, g1_in, g1_out = single_loss(w, self.m, grad=True)
        if self.one_hot:
            return e1, g1_in, g1_out
        w1, w2 = self.weights_k[1], self.weights_k[2]
        e2, g2_in, g2_out = pair_loss(w, self.m, grad=True)
        f = w1 * e1 + w2 * e2
        g_in = w1 * g1_in + w2 * g2_in
        g_out = w1 * g1_out + w2 * g2_out
        if self.ks.size:
            ft, (gt_in, hh, yh) = self._tail(w.W_in, w.W_out, True)
            f += ft
            g_in = g_in + gt_in
            g_out = g_out + 2.0 * (w.W_out @ hh - yh)
        return float(f), g_in, g_out

    @one_blas_thread
    def value_and_grad(self, weights):
        """(F, dF/dW_in of shape (n_neurons, n_features), dF/dW_out of shape (n_features, n_neurons)).

        Exact wherever F is differentiable; an entry W_in[a, i] = 0 gets the ReLU subgradient 0.
        """
        return self._value_and_grad(self._check(weights))

    def _moments(self, w: Weights):
        """(A, B) with F = tr(W_out A W_out^T) - 2 tr(W_out B^T) + const: A (d, d), B (n, d)."""
        from ..evaluation import stratified as st

        m = self.m
        n = self.task.n_features
        pos = np.maximum(w.W_in, 0.0)
        neg = np.maximum(-w.W_in, 0.0)
        c1 = 1.0 / (6.0 * n)
        a = c1 * (pos @ pos.T + neg @ neg.T)
        b = c1 * ((np.eye(n) + m) @ pos.T - m @ neg.T)
        if self.one_hot:
            return a, b
        w1, w2 = self.weights_k[1], self.weights_k[2]
        # the pair kernel's sector moments (independent of W_out); private API of ccsolve.stratified
        if hasattr(st, "_Products"):
            _, _, (vals, gh, ap, bm, _) = st._pair_kernel(st._Products(w, m), True)
        else:
            _, _, (vals, gh, ap, bm, _) = st._pair_kernel(w, m, True)
        s = 0.25 / vals.size
        a = w1 * a + w2 * s * np.sum(gh, axis=0)
        b = w1 * b + w2 * s * (np.sum(ap, axis=0) + m @ np.sum(bm, axis=0))
        if self.ks.size:
            _, (_, hh, yh) = self._tail(w.W_in, w.W_out, True)
            a = a + hh
            b = b + yh
        return a, b

    @one_blas_thread
    def readout(self, W_in) -> np.ndarray:
        """argmin over W_out of F(W_in, W_out) (n_features, n_neurons): the least-squares readout for
        the strata's moments (minimum-norm solution if A is singular)."""
        n, d = self.task.n_features, self.task.n_neurons
        w_in = v.as_matrix("W_in", W_in, shape=(d, n))
        a, b = self._moments(Weights(w_in, np.zeros((n, d))))
        a = 0.5 * (a + a.T)
        try:
            c = np.linalg.cholesky(a + 1e-14 * np.trace(a) * np.eye(d))
            return np.linalg.solve(c.T, np.linalg.solve(c, b.T)).T
        except np.linalg.LinAlgError:
            return np.linalg.lstsq(a, b.T, rcond=None)[0].T


# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExactMinimizeResult(SolverResult):
    """minimize_exact's result.

    weights       the best weights over all inits (lowest objective)
    objective     their stratified objective F at task.p (fixed-sample tail included)
    loss          ccsolve.LossEstimate of L/p at task.p (loss_per_feature method="auto", tol=eval_tol,
                  independent seed), None if evaluate=False
    one_hot_loss, lower_bound, gap   one-hot L/p, ccsolve.one_hot_lower_bound, their difference
    n_iter, converged, message   the best run's quasi-Newton iterations, scipy's flag and message
    init          the init the best run started from
    runs          one dict per init: init, start_objective, objective, n_iter, converged, seconds
    tail, ks, tail_counts, truncation   the objective's tail: mode, sampled strata, samples per stratum,
                  sum_{k > k_max} k w_k (share left out, relative to E_k / k)
    p             task.p (None for one-hot tasks); seconds: wall time, inits and evaluation included
    details       {"hops": one dict per basin hop (start_objective, objective, kept, n_iter)}
    """

    weights: Weights
    objective: float
    loss: object
    one_hot_loss: float
    lower_bound: float
    gap: float
    n_iter: int
    converged: bool
    message: str
    init: str
    runs: tuple
    tail: str
    ks: tuple
    tail_counts: tuple
    truncation: float
    p: float | None
    seconds: float
    details: dict = field(default_factory=dict)

    @property
    def inits(self) -> tuple:
        """(init name, objective) of every run."""
        return tuple((r["init"], r["objective"]) for r in self.runs)

    def __repr__(self):
        lv = f"{self.loss.value:.6g} +- {self.loss.stderr:.2g}" if self.loss is not None else "None"
        return (f"ExactMinimizeResult(objective={self.objective:.6g}, loss={lv}, one_hot_loss={self.one_hot_loss:.6g}, "
                f"init={self.init!r}, n_iter={self.n_iter}, converged={self.converged}, seconds={self.seconds:.3g})")


_INITS = set(INITS) | {"continuation", "one_hot_continuation"}


def _options(method: str, maxiter: int) -> dict:
    """scipy.optimize.minimize options of every descent of minimize_exact (the runs and the hops)."""
    opts = {"maxiter": maxiter, "gtol": 1e-10}
    if method == "L-BFGS-B":
        opts.update({"ftol": 1e-13, "maxcor": 20, "maxfun": 2 * maxiter})
    return opts


@one_blas_thread
def minimize_exact(
    task: Task,
    init="auto",
    seed=0,
    tail: str = "monte_carlo",
    n_tail_samples: int | None = None,
    k_max: int | None = None,
    method: str = "L-BFGS-B",
    maxiter: int | None = None,
    train_steps: int = 10_000,
    perturb: float = 1e-6,
    polish_readout: bool = True,
    projected: bool = True,
    evaluate: bool = True,
    eval_tol: float = 1e-5,
    progress: bool = False,
    fused: bool = True,
    tail_redraws: int = 0,
    hops: int | None = None,
    hop_scale: float = 0.3,
    hop_maxiter: int | None = None,
) -> ExactMinimizeResult:
    """Minimise the stratified objective F at task.p (ExactObjective) over W_in and W_out, no training data.

    init     "auto" (depends on the task, ccsolve/optimize/_exact_defaults.py: "one_hot" for one-hot tasks,
             "one_hot_continuation" for p <= 0.002, "continuation" for p <= 0.005, "snmf" otherwise; before issue 13 it was ["one_hot", "snmf"]
             with maxiter=300), or one of "one_hot" (minimize_one_hot's result), "snmf", "svd", "naive",
             "train" (ccsolve.train(task, steps=train_steps, seed=seed)), "random" (Kaiming-uniform),
             "continuation" (the default minimize_exact call at p = 0.01, evaluate=False, same seed, tail,
             method and fused; its weights), "one_hot_continuation" (the default call at p = 0.005 from
             init "one_hot", evaluate=False; its weights), a Weights, or a list of these. Every init is run; the lowest F wins.
    n_tail_samples, maxiter   None: 2^17 tail samples and 100 iterations at p >= 0.02, 2^15 and 60 below
             (and for one-hot tasks)
    seed     seeds the tail samples, the inits, the perturbation and the evaluation (int)
    tail     "monte_carlo": strata 3..k_max from n_tail_samples fixed samples (common random numbers);
             "ignore": F = w_1 E_1 + w_2 E_2 only (biased low by the strata k >= 3)
    method   "L-BFGS-B" or "CG" (scipy.optimize.minimize), on F * 6 n with the analytic gradient, at most
             maxiter iterations per init
    perturb  W_in entries with |w| < perturb * max|W_in| move to +-perturb * max|W_in| (random signs):
             the ReLU subgradient at an exact 0 is 0, so those entries would never move
    polish_readout  replace W_out by the exact minimiser of F for the fixed W_in (F is quadratic in W_out)
             before and after each run (kept only if F decreases)
    projected  run the quasi-Newton method on W_in alone with W_out = the exact readout for F (variable
             projection; about twice the cost per iteration, better conditioned) instead of jointly
    fused    projected runs use the fused evaluation (ccsolve.optimize._fast: moments once per step, the pair
             kernel split into a moment and a gradient pass, the tail by BLAS); False: readout() then
             value_and_grad() as before issue 13 (same values to rounding, ~2x slower)
    tail_redraws  split each run's maxiter iterations into tail_redraws + 1 L-BFGS segments, each on a
             freshly drawn tail sample (seeded; the same draws for every init), so the result does not
             over-fit one fixed sample (p >= 0.03, where the tail carries weight); the last segment's
             objective is the reported F. 0: one fixed sample throughout. Needs projected=True.
    hops     basin hopping after the runs (monotonic: a hop is kept only if F decreases): each hop
             normalises the best W_in's rows (F is invariant to that with the exact readout), multiplies
             every entry by 1 + hop_scale * N(0, 1) and adds 0.3 * hop_scale * mean|W_in| * N(0, 1) (seeded,
             independent of the other draws), then runs hop_maxiter projected iterations. None: the
             p-dependent default (_exact_defaults.default_hops: 30 iterations each, 4 hops at
             p <= 0.002, 4 at 0.002 < p <= 0.005, none above and for one-hot tasks); 0: off (the
             result before hops existed, bit for bit). Needs projected=True. result.details["hops"] has
             one dict per hop: start_objective, objective, kept, n_iter.
    evaluate the result's L/p by loss_per_feature(method="auto", tol=eval_tol) with a seed independent
             of the tail samples
    Returns ExactMinimizeResult. F is piecewise smooth and not convex: the result is a local minimum.
    """
    from scipy.optimize import minimize

    from ..evaluation.loss import loss_per_feature

    t0 = time.perf_counter()
    task = check_task(task)
    v.choice("method", method, {"L-BFGS-B", "CG"})
    from ._exact_defaults import (
        CONTINUATION_P,
        ONE_HOT_CONTINUATION_P,
        default_hop_maxiter,
        default_hops,
        default_init,
        default_maxiter,
        default_tail_samples,
    )

    maxiter = v.positive_int("maxiter", default_maxiter(task) if maxiter is None else maxiter, minimum=0)
    if n_tail_samples is None:
        n_tail_samples = default_tail_samples(task)
    train_steps = v.positive_int("train_steps", train_steps)
    perturb = v.non_negative("perturb", perturb)
    eval_tol = v.positive("eval_tol", eval_tol)
    tail_redraws = v.positive_int("tail_redraws", tail_redraws, minimum=0)
    if tail_redraws and not projected:
        raise ValueError("tail_redraws > 0 needs projected=True")
    hops = v.positive_int("hops", default_hops(task) if hops is None else hops, minimum=0)
    hop_scale = v.positive("hop_scale", hop_scale)
    hop_maxiter = v.positive_int("hop_maxiter", default_hop_maxiter(task) if hop_maxiter is None else hop_maxiter)
    if hops and not projected:
        raise ValueError("hops > 0 needs projected=True")
    for name, flag in (("polish_readout", polish_readout), ("projected", projected), ("evaluate", evaluate),
                       ("progress", progress), ("fused", fused)):
        v.boolean(name, flag)
    seed = v.seed_int(seed)
    n, d = task.n_features, task.n_neurons
    expanded = expand_inits(init, n, d, _INITS, default_init(task))
    ss = np.random.SeedSequence(seed)
    tail_ss, init_ss, eval_ss, hop_ss = ss.spawn(4)  # the first three as before hops existed
    obj = ExactObjective(task, tail=tail, n_tail_samples=n_tail_samples, k_max=k_max, seed=tail_ss)
    segments = [obj]
    if tail_redraws and obj.ks.size:
        # fresh tail draws; the last one is the objective every init is finally compared on
        segments = [obj] + [ExactObjective(task, tail=tail, n_tail_samples=n_tail_samples, k_max=k_max, seed=s)
                            for s in tail_ss.spawn(tail_redraws)]
        obj = segments[-1]
    gen = np.random.default_rng(init_ss)
    scale = 6.0 * n
    nd = d * n

    def fun(x):
        f, g_in, g_out = obj._value_and_grad(Weights(x[:nd].reshape(d, n), x[nd:].reshape(n, d)))
        return f * scale, np.concatenate([g_in.ravel(), g_out.ravel()]) * scale

    def projected_fun(o):
        def fun_projected(x):
            # W_out eliminated: F*(W_in) = min_W_out F; by Danskin its gradient is the partial one at W_out*
            w_in = x.reshape(d, n)
            f, g_in, _ = o._value_and_grad(Weights(w_in, o.readout(w_in)))
            return f * scale, g_in.ravel() * scale

        if fused:
            from ._fast import ProjectedEvaluator

            fast = ProjectedEvaluator(o)

            def fun_projected(x):  # noqa: F811  (same function, each piece of work done once)
                f, g_in, _ = fast(x.reshape(d, n))
                return f * scale, g_in.ravel() * scale
        return fun_projected

    seg_funs = [projected_fun(o) for o in segments] if projected else []
    seg_iters = [maxiter // len(segments) + (i < maxiter % len(segments)) for i in range(len(segments))]

    def polish(w: Weights, f: float):
        if not polish_readout:
            return w, f
        w2 = Weights(w.W_in, obj.readout(w.W_in))
        f2 = obj.value(w2)
        return (w2, f2) if f2 < f else (w, f)

    runs = []
    best = None
    with progress_bar(progress, len(expanded) + hops, "minimize_exact") as bar:
        for name, w0 in expanded:
            t_run = time.perf_counter()
            if w0 is None and name == "continuation":
                w0 = minimize_exact(task.with_p(CONTINUATION_P), seed=seed, tail=tail, method=method,
                                    evaluate=False, fused=fused).weights
            elif w0 is None and name == "one_hot_continuation":
                w0 = minimize_exact(task.with_p(ONE_HOT_CONTINUATION_P), init="one_hot", seed=seed, tail=tail,
                                    method=method, evaluate=False, fused=fused).weights
            elif w0 is None:
                w0 = initial_weights(name, task, seed, gen, train_steps)
            w_in = np.array(w0.W_in)
            s = float(np.max(np.abs(w_in))) if np.any(w_in) else 1.0
            small = np.abs(w_in) < perturb * s
            w_in[small] = perturb * s * np.where(gen.random(int(small.sum())) < 0.5, -1.0, 1.0)
            w = Weights(w_in, np.array(w0.W_out))
            start = obj.value(w0)
            w, f = polish(w, obj.value(w))
            n_iter, ok, msg = 0, True, "no iterations (maxiter=0)"
            if maxiter > 0:
                opts = _options(method, maxiter)
                if projected:
                    x = w.W_in.ravel()
                    nit = 0
                    for fun_projected, it in zip(seg_funs, seg_iters):
                        if it == 0:
                            continue
                        if "maxfun" in opts:
                            opts.update({"maxiter": it, "maxfun": 2 * it})
                        else:
                            opts["maxiter"] = it
                        res = minimize(fun_projected, x, jac=True, method=method, options=opts)
                        x, nit = res.x, nit + int(res.nit)
                    res.nit = nit
                    w_in_new = x.reshape(d, n)
                    w_new = Weights(w_in_new, obj.readout(w_in_new))
                else:
                    x0 = np.concatenate([w.W_in.ravel(), w.W_out.ravel()])
                    res = minimize(fun, x0, jac=True, method=method, options=opts)
                    w_new = Weights(res.x[:nd].reshape(d, n), res.x[nd:].reshape(n, d))
                n_iter, ok, msg = int(res.nit), bool(res.success), str(res.message)
                f_new = obj.value(w_new)
                if f_new < f:
                    w, f = polish(w_new, f_new)
            runs.append({"init": name, "start_objective": float(start), "objective": float(f), "n_iter": n_iter,
                         "converged": ok, "message": msg, "seconds": time.perf_counter() - t_run})
            if best is None or f < best[0]:
                best = (f, w, n_iter, ok, msg, name)
            bar.update(1)
        hop_log = []
        if hops:
            hop_gen = np.random.default_rng(hop_ss)
            fun_final = seg_funs[-1]
            opts = _options(method, hop_maxiter)
            f_best, w_best = best[0], best[1]
            for _ in range(hops):
                w_in = w_best.W_in / np.maximum(np.linalg.norm(w_best.W_in, axis=1, keepdims=True), 1e-300)
                noise = hop_gen.standard_normal((2,) + w_in.shape)
                w_in = w_in * (1.0 + hop_scale * noise[0]) + 0.3 * hop_scale * float(np.mean(np.abs(w_in))) * noise[1]
                res = minimize(fun_final, w_in.ravel(), jac=True, method=method, options=opts)
                w_in_new = res.x.reshape(d, n)
                w_new = Weights(w_in_new, obj.readout(w_in_new))
                f_new = obj.value(w_new)
                kept = f_new < f_best
                hop_log.append({"start_objective": float(f_best), "objective": float(f_new), "kept": bool(kept),
                                "n_iter": int(res.nit)})
                if kept:
                    f_best, w_best = f_new, w_new
                bar.update(1)
            if f_best < best[0]:
                best = (f_best, w_best) + best[2:]
    f, w, n_iter, ok, msg, name = best
    loss = loss_per_feature(w, task, method="auto", tol=eval_tol, seed=eval_ss) if evaluate else None
    oh = one_hot_loss(w, task.mixing)
    lb = one_hot_lower_bound(task.mixing, d)
    return ExactMinimizeResult(
        w, float(f), loss, float(oh), float(lb), float(oh - lb), n_iter, ok, msg, name, tuple(runs), tail,
        tuple(int(k) for k in obj.ks), tuple(int(c) for c in obj.counts), obj.truncation,
        None if task.one_hot else task.p, time.perf_counter() - t0, {"hops": tuple(hop_log)},
    )
