"""Hand-built residual MLPs at any depth: the naive construction and a depth-aware exact-objective
construction (scipy L-BFGS on a deterministic objective with an analytic gradient). docs/residual.md.

naive(task)
    Layer l's neuron j represents feature f = sum(d_mlp[:l]) + j: it reads E[:, f] from the residual
    stream and writes E[:, f] back (W_in[l][j] = E[:, f]^T, W_out[l][:, j] = E[:, f]), so with L layers of
    d_mlp neurons the first L * d_mlp features are represented; the rest pass through the stream only.

minimize_exact(task, objective="stratified" | "one_hot", init="naive" | "random" | ResidualWeights, ...)
    objective "one_hot":    F = one-hot L/p, the closed form at any depth (ccsolve.residual.one_hot_loss)
    objective "stratified": F = [P(K = 1) E_1 + P(K >= 2) E_(>=2)^(S)] / (n p), E_1 the same closed form
        and E_(>=2)^(S) the mean ||err||^2 over a FIXED set of seeded samples with >= 2 active features
        (common random numbers: the same samples at every evaluation). Its expectation over the samples
        is the task's L/p at p (the stratified estimator of ccsolve.residual.loss_per_feature).
    Both are deterministic; the gradient is the trainer's hand-written backward (ccsolve.residual._model)
    applied to the unit inputs +-e_i and to the fixed samples, tested against finite differences.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..core import validation as v
from ..core.blas import one_blas_thread
from ..core.progress import progress_bar
from ..core.results import Result
from . import _model
from .evaluation import binomial_cdf, one_hot_loss
from .task import ResidualTask, check_task
from .weights import ResidualWeights, check_weights

__all__ = ["ResidualExactObjective", "ResidualMinimizeResult", "minimize_exact", "naive", "naive_features"]

DEFAULT_TAIL_SAMPLES = 1 << 14


def naive_features(task: ResidualTask) -> list:
    """Feature indices represented by each layer's neurons in `naive`: layer l gets the next d_mlp[l]
    features (features beyond n_features are dropped: those neurons stay zero)."""
    task = check_task(task)
    out, start = [], 0
    for d in task.d_mlp:
        out.append(np.arange(start, min(start + d, task.n_features)))
        start += d
    return out


def naive(task: ResidualTask) -> ResidualWeights:
    """Each neuron reads one feature through the embedding and writes it back (module doc)."""
    task = check_task(task)
    e = task.embedding
    w_in, w_out = [], []
    for d, feats in zip(task.d_mlp, naive_features(task)):
        a = np.zeros((d, task.d_embed))
        b = np.zeros((task.d_embed, d))
        k = np.arange(feats.size)
        a[k] = e[:, feats].T
        b[:, k] = e[:, feats]
        w_in.append(a)
        w_out.append(b)
    return ResidualWeights(w_in, w_out)


class ResidualExactObjective:
    """The deterministic objective F(W) of `minimize_exact` (module doc) with its gradient.

    task            ResidualTask with Bernoulli inputs (objective "stratified") or any (objective "one_hot")
    objective       "stratified" or "one_hot"
    n_tail_samples  fixed samples with >= 2 active features (stratified only)
    seed            seeds those samples

    Attributes: p_one, p_two_plus (P(K = 1), P(K >= 2)); methods value(weights), value_and_grad(weights)
    -> (F, [dF/dW_in[l]], [dF/dW_out[l]]).
    """

    def __init__(self, task: ResidualTask, objective: str = "stratified",
                 n_tail_samples: int = DEFAULT_TAIL_SAMPLES, seed=0):
        self.task = task = check_task(task)
        self.objective = v.choice("objective", objective, {"stratified", "one_hot"})
        n = task.n_features
        lpos, lneg = task.label_slopes
        g = np.ascontiguousarray(task.gram)
        self._unit_x = np.vstack([np.eye(n), -np.eye(n)])
        self._unit_base = np.vstack([g - np.diag(lpos), -g - np.diag(lneg)])
        self.n_tail_samples = 0
        if objective == "one_hot":
            self._w1, self._w2 = 1.0 / (6.0 * n), 0.0  # E_1 = sum (c_pos + c_neg) / (6 n) is one-hot L/p
            self.p_one, self.p_two_plus = 1.0, 0.0
            return
        if task.n_active is not None:
            raise ValueError("objective='stratified' needs Bernoulli inputs (n_active=None); use objective='one_hot'")
        if n < 2:
            raise ValueError(f"objective='stratified' needs n_features >= 2, got {n}")
        self.n_tail_samples = v.positive_int("n_tail_samples", n_tail_samples, minimum=2)
        pk = np.diff(np.concatenate([[0.0], binomial_cdf(n, task.p)[:-1], [1.0]]))
        self.p_one = float(pk[1])
        self.p_two_plus = float(max(1.0 - pk[0] - pk[1], 0.0))
        scale = 1.0 / task.expected_active
        # F = scale * (p_one * E_1 + p_two_plus * mean_tail); E_1 = sum_unit ||err||^2 / (6 n)
        self._w1 = scale * self.p_one / (6.0 * n)
        self._w2 = scale * self.p_two_plus / self.n_tail_samples
        from .._kernels import residual as k

        m_total = self.n_tail_samples
        x = np.empty((m_total, n))
        base = np.empty((m_total, n))
        mark = np.zeros(n, dtype=np.bool_)
        seed_int = v.seed_sequence(seed).generate_state(1, dtype=np.uint64)[0]
        m = k.draw_rows(n, binomial_cdf(n, task.p, k_min=2), seed_int, m_total, g, lpos, lneg, x, base, mark)
        assert m == m_total  # every sample of the >= 2 stratum is non-empty
        self._tail_x, self._tail_base = x, base

    def _blocks(self):
        yield self._unit_x, self._unit_base, self._w1
        if self._w2 > 0.0:
            yield self._tail_x, self._tail_base, self._w2

    def value(self, weights: ResidualWeights) -> float:
        return self.value_and_grad(weights, grad=False)[0]

    @one_blas_thread
    def value_and_grad(self, weights: ResidualWeights, grad: bool = True):
        w = check_weights(weights, self.task)
        return self._value_and_grad(w.W_in, w.W_out, grad)

    def _value_and_grad(self, w_in, w_out, grad=True):
        emb = self.task.embedding
        a, b, c = _model.products(w_in, w_out, emb)
        f = 0.0
        acc = None
        for x, base, wt in self._blocks():
            zs, hs, err = _model.forward(x, base, a, b, c)
            f += wt * float(np.einsum("ij,ij->", err, err))
            if not grad:
                continue
            da, db, dc = _model.backward(x, zs, hs, (2.0 * wt) * err, a, b, c)
            if acc is None:
                acc = [da, db, dc]
            else:
                for l in range(len(a)):
                    acc[0][l] += da[l]
                    acc[2][l] += dc[l]
                    for kk in range(l):
                        acc[1][l][kk] += db[l][kk]
        if not grad:
            return f, None, None
        g_in, g_out = _model.to_residual_gradients(acc[0], acc[1], acc[2], w_in, w_out, emb)
        return f, g_in, g_out


@dataclass(frozen=True, repr=False)
class ResidualMinimizeResult(Result):
    """Result of `minimize_exact`.

    weights            the solution (ResidualWeights)
    objective          F at `weights` (the function minimised: one-hot L/p, or the stratified F of the
                       fixed samples; module doc)
    initial_objective  F at the init
    n_iter             L-BFGS iterations
    converged          scipy's stopping rule met (not the iteration cap)
    seconds            wall time of the call
    one_hot_loss       exact one-hot L/p of `weights`
    kind               "stratified" or "one_hot"
    init               name of the starting point
    n_tail_samples     fixed samples of the >= 2-active stratum (0 for one_hot)
    message            scipy's message
    """

    weights: ResidualWeights
    objective: float
    initial_objective: float
    n_iter: int
    converged: bool
    seconds: float
    one_hot_loss: float
    kind: str
    init: str
    n_tail_samples: int
    message: str

    def to_dict(self) -> dict:
        d = super().to_dict()
        d["weights"] = {"W_in": [a.tolist() for a in self.weights.W_in],
                        "W_out": [b.tolist() for b in self.weights.W_out]}
        return d


def _init_weights(task, init, seed):
    if isinstance(init, ResidualWeights):
        return check_weights(init, task), "weights"
    v.choice("init", init, {"naive", "random"})
    if init == "naive":
        return naive(task), "naive"
    from .trainer import linear_default_init

    return linear_default_init(task, seed), "random"


@one_blas_thread
def minimize_exact(task: ResidualTask, objective: str = "stratified", init="naive", seed=0,
                   max_iter: int = 500, n_tail_samples: int = DEFAULT_TAIL_SAMPLES, tol: float = 1e-10,
                   progress: bool = False) -> ResidualMinimizeResult:
    """Minimise the deterministic objective F (module doc) over every layer's W_in and W_out with
    scipy's L-BFGS-B (no bounds), from `init` ("naive", "random": nn.Linear's default init drawn from
    `seed`, or ResidualWeights). `seed` also seeds the fixed tail samples. tol: L-BFGS-B's ftol and gtol.
    BLAS on one thread (same result at any thread setting)."""
    from scipy.optimize import minimize

    t0 = time.perf_counter()
    task = check_task(task)
    max_iter = v.positive_int("max_iter", max_iter)
    tol = v.positive("tol", tol)
    progress = v.boolean("progress", progress)
    ss = v.seed_sequence(seed)
    init_ss, tail_ss = ss.spawn(2)
    w0, init_name = _init_weights(task, init, np.random.default_rng(init_ss))
    obj = ResidualExactObjective(task, objective, n_tail_samples, tail_ss)
    shapes = [a.shape for a in w0.W_in] + [b.shape for b in w0.W_out]
    sizes = [int(np.prod(s)) for s in shapes]
    L = task.n_layers

    def unpack(x):
        arrs, o = [], 0
        for s, n in zip(shapes, sizes):
            arrs.append(x[o:o + n].reshape(s))
            o += n
        return arrs[:L], arrs[L:]

    def fun(x):
        w_in, w_out = unpack(x)
        f, g_in, g_out = obj._value_and_grad(w_in, w_out)
        return f, np.concatenate([g.ravel() for g in g_in + g_out])

    x0 = np.concatenate([a.ravel() for a in w0.W_in + w0.W_out])
    f0 = fun(x0)[0]
    bar = progress_bar(progress, max_iter, f"minimize_exact ({objective})", unit="it")

    def callback(_xk):
        bar.update(1)

    try:
        res = minimize(fun, x0, jac=True, method="L-BFGS-B", callback=callback,
                       options={"maxiter": max_iter, "ftol": tol, "gtol": tol, "maxcor": 20})
    finally:
        bar.close()
    w_in, w_out = unpack(res.x)
    w = ResidualWeights([a.copy() for a in w_in], [b.copy() for b in w_out])
    f = obj._value_and_grad(w.W_in, w.W_out, grad=False)[0]
    return ResidualMinimizeResult(w, float(f), float(f0), int(res.nit), bool(res.success), time.perf_counter() - t0,
                                  one_hot_loss(w, task), objective, init_name, obj.n_tail_samples, str(res.message))
