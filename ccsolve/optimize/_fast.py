"""Fused variable-projection evaluation of the exact objective (private; issue 13).

ExactObjective's projected step used to call readout(W_in) (pair kernel and tail with gradients, at a
zero W_out, only for their moments) and then value_and_grad (the same two kernels again). Here one
evaluation at W_in does each piece of work once:

  1. moments A, B of every stratum (F = tr(W_out A W_out^T) - 2 tr(W_out B^T) + const): E_1 in closed
     form, E_2 from the pair kernel's moment pass (_kernels/pairs_split.py, mom=True), the tail from
     dense products (BLAS) and gather/scatter kernels over the fixed samples (X: values, R = ReLU(X));
  2. W_out = B A^{-1} (Cholesky);
  3. F and dF/dW_in at that W_out: E_1 in closed form, E_2 from the pair kernel's gradient pass
     (grad=True), the tail from the stored activations H = ReLU(X W_in^T):
       Q = (H G - R W_out - X M^T W_out) masked by H > 0,   dF_tail/dW_in = 2 (diag(wt) Q)^T X.

The result agrees with ExactObjective.readout + ExactObjective.value_and_grad to rounding (tested
against them in tests/test_fast_exact.py). Deterministic: the BLAS products run on one thread (the
callers are @one_blas_thread), the pair kernel sums fixed blocks in order.
"""

from __future__ import annotations

import numpy as np

from ..core.weights import Weights


def _c(a) -> np.ndarray:
    return np.array(a, dtype=np.float64, order="C", copy=True)


class ProjectedEvaluator:
    """f, dF/dW_in, W_out = ev(W_in) for an ExactObjective `obj` (its strata, weights and tail samples)."""

    def __init__(self, obj):
        import scipy.sparse as sp

        from ..evaluation import stratified as st

        self.obj = obj
        m = obj.m
        n = obj.task.n_features
        self.n = n
        self.one_hot = obj.one_hot
        self.eye_m = np.eye(n) + m
        self.w1 = float(obj.weights_k[1])
        self.w2 = float(obj.weights_k[2]) if not obj.one_hot else 0.0
        if not self.one_hot:
            self.pi, self.pj, self.blocks = st._pairs_index(n)
            # label term of 4 E_ij (pairs.py): depends on M only
            mtm = m.T @ m
            yy_pm = m + mtm
            yy_mp = m.T + mtm
            yy_pp = m + yy_mp + np.eye(n)
            i, j = self.pi, self.pj
            const = ((yy_pp[i, i] + yy_pp[j, j] + 1.5 * yy_pp[i, j]) + (mtm[i, i] + yy_pp[j, j] - 1.5 * yy_mp[i, j])
                     + (mtm[i, i] + mtm[j, j] + 1.5 * mtm[i, j]) + (yy_pp[i, i] + mtm[j, j] - 1.5 * yy_pm[i, j])) / 3.0
            self.pair_scale = 0.25 / i.size
            self.pair_const = float(np.sum(const))
        self.tail = bool(obj.ks.size)
        if self.tail:
            idx, val, kk, wt = obj._idx, obj._val, obj._kk, obj._wt
            s, km = idx.shape
            mask = np.arange(km)[None, :] < kk[:, None]
            rows = np.repeat(np.arange(s), km).reshape(s, km)[mask]
            cols = idx[mask]
            vals = val[mask]
            x = sp.csr_matrix((vals, (rows, cols)), shape=(s, n))
            r = sp.csr_matrix((np.maximum(vals, 0.0), (rows, cols)), shape=(s, n))
            self.idx, self.val, self.kk = _c(idx).astype(np.int64), _c(val), _c(kk).astype(np.int64)
            self.tail_blocks = np.asarray(obj._blocks, dtype=np.int64)
            self.wt = _c(wt)
            y = np.asarray(r @ np.eye(n)) + np.asarray(x @ m.T)  # rows y_s = r_s + M x_s
            self.tail_const = float(np.sum(self.wt * np.einsum("ij,ij->i", y, y)))
            self.mt = _c(m.T)

    def _gather(self, a):
        from .._kernels.tail_dense import gather

        return gather(self.idx, self.val, self.kk, a, np.zeros((0, a.shape[1])), False)

    def moments(self, w_in):
        """(A (d, d), B (n, d), state) with F = tr(W_out A W_out^T) - 2 tr(W_out B^T) + const."""
        from .._kernels.pairs_split import pair_split_blocks
        from .._kernels.tail_dense import scatter

        n = self.n
        m = self.obj.m
        d = w_in.shape[0]
        pos = np.maximum(w_in, 0.0)
        neg = np.maximum(-w_in, 0.0)
        c1 = self.w1 / (6.0 * n)
        a = c1 * (pos @ pos.T + neg @ neg.T)
        b = c1 * (self.eye_m @ pos.T - m @ neg.T)
        state = {"w_in_t": _c(w_in.T)}
        if not self.one_hot:
            z = np.zeros((1, 1))
            _, gh, ap, bm, _ = pair_split_blocks(state["w_in_t"], np.zeros((d, d)), z, z, self.pi, self.pj,
                                                 self.blocks, True, False)
            s = self.w2 * self.pair_scale
            a = a + s * np.sum(gh, axis=0)
            b = b + s * (np.sum(ap, axis=0) + m @ np.sum(bm, axis=0))
        if self.tail:
            h = np.maximum(self._gather(state["w_in_t"]), 0.0)
            hw = h * self.wt[:, None]
            a = a + hw.T @ h
            xh, rh = scatter(self.idx, self.val, self.kk, hw, n, self.tail_blocks, True)
            b = b + rh + m @ xh
            state["h"] = h
        return a, b, state

    @staticmethod
    def solve(a, b):
        d = a.shape[0]
        a = 0.5 * (a + a.T)
        try:
            c = np.linalg.cholesky(a + 1e-14 * np.trace(a) * np.eye(d))
            return np.linalg.solve(c.T, np.linalg.solve(c, b.T)).T
        except np.linalg.LinAlgError:
            return np.linalg.lstsq(a, b.T, rcond=None)[0].T

    def readout(self, w_in):
        a, b, _ = self.moments(w_in)
        return self.solve(a, b)

    def value_and_grad_at(self, w_in, w_out, state=None):
        """(F, dF/dW_in) at (w_in, w_out); state from moments(w_in) reuses its activations."""
        from .._kernels.pairs_split import pair_split_blocks
        from .._kernels.tail_dense import gather, scatter
        from ..evaluation.stratified import single_loss

        m = self.obj.m
        e1, g_in, _ = single_loss(Weights(w_in, w_out), m, grad=True)
        f = self.w1 * e1
        g_in = self.w1 * g_in
        if self.one_hot:
            return float(f), g_in
        w_in_t = state["w_in_t"] if state is not None else _c(w_in.T)
        gram = _c(w_out.T @ w_out)
        mtw = _c(m.T @ w_out)
        vals, _, _, _, gwin = pair_split_blocks(w_in_t, gram, _c(w_out + mtw), mtw, self.pi, self.pj, self.blocks,
                                                False, True)
        s = self.w2 * self.pair_scale
        f += s * (float(np.sum(vals)) + self.pair_const)
        g_in = g_in + s * np.sum(gwin, axis=0)
        if self.tail:
            h = state["h"] if state is not None and "h" in state else np.maximum(self._gather(w_in_t), 0.0)
            c = gather(self.idx, self.val, self.kk, mtw, _c(w_out), True)
            hg = h @ gram
            f += float(np.sum(self.wt * np.einsum("ij,ij->i", h, hg - 2.0 * c))) + self.tail_const
            q = (hg - c) * (h > 0.0)
            q *= 2.0 * self.wt[:, None]
            g_in = g_in + scatter(self.idx, self.val, self.kk, q, self.n, self.tail_blocks, False)[0].T
        return float(f), g_in

    def __call__(self, w_in):
        """(F*(W_in) = min over W_out of F, its gradient dF/dW_in at the minimiser, the minimiser W_out)."""
        a, b, state = self.moments(w_in)
        w_out = self.solve(a, b)
        f, g = self.value_and_grad_at(w_in, w_out, state)
        return f, g, w_out
