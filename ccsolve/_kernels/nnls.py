"""Small dense solvers for the hand-built constructions (private; used by ccsolve.constructions).

nnls_gram      batched non-negative least squares on a shared Gram matrix (Lawson-Hanson, Gram form)
spd_solve      X = G^{-1} R for a symmetric positive definite G (Cholesky), many right-hand sides
cd_nmf_update  one coordinate-descent sweep of NMF, the update of scikit-learn's default NMF solver

They are plain loops on matrices of size <= a few hundred: no BLAS or LAPACK call, so their cost and
their results do not depend on a thread pool (a threaded OpenBLAS is very slow on such small matrices on
a loaded machine: docs/benchmarks.md, SNMF, --blas-probe).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _cholesky_sub(G, idx, k, L):
    """Lower Cholesky factor of G[idx[:k], idx[:k]] into L[:k, :k]; False if not positive definite."""
    for a in range(k):
        ia = idx[a]
        for b in range(a + 1):
            ib = idx[b]
            s = G[ia, ib]
            for e in range(b):
                s -= L[a, e] * L[b, e]
            if a == b:
                if not s > 0.0:
                    return False
                L[a, a] = np.sqrt(s)
            else:
                L[a, b] = s / L[b, b]
    return True


@njit(cache=True)
def _cholesky_solve(L, k, z):
    """Overwrite z[:k] with (L L^T)^{-1} z[:k]."""
    for a in range(k):
        s = z[a]
        for e in range(a):
            s -= L[a, e] * z[e]
        z[a] = s / L[a, a]
    for a in range(k - 1, -1, -1):
        s = z[a]
        for e in range(a + 1, k):
            s -= L[e, a] * z[e]
        z[a] = s / L[a, a]


@njit(cache=True)
def _solve_complement(H, x, idx, k, zidx, q, L, z, lam):
    """z[:k] = G[P, P]^{-1} c[P] from H = G^{-1} and x = H c, for P = idx[:k] and its complement
    Z = zidx[:q]: z = x_P - H[P, Z] H[Z, Z]^{-1} x_Z (the Schur complement of the bordered system).
    Costs O(q^3 + k q) instead of O(k^3): cheap when few variables are zero. False if H[Z, Z] is not PD."""
    if q > 0:
        if not _cholesky_sub(H, zidx, q, L):
            return False
        for a in range(q):
            lam[a] = x[zidx[a]]
        _cholesky_solve(L, q, lam)
    for a in range(k):
        i = idx[a]
        s = x[i]
        for e in range(q):
            s -= H[i, zidx[e]] * lam[e]
        z[a] = s
    return True


@njit(cache=True)
def _nnls_column(G, c, b, tol, max_iter, idx, passive, L, z, H, x, use_h, zidx, lam):
    """Lawson-Hanson on min 1/2 b'Gb - c'b, b >= 0, from the feasible warm start b (updated in place).

    Returns (passive-set solves, status): status 0 converged, 1 iteration cap, 2 singular passive block,
    3 stalled (a variable with a positive dual entry is blocked at once: a rounding-level degeneracy).
    """
    d = G.shape[0]
    for i in range(d):
        # a zero column of A (dead neuron) makes G[i, i] = 0: such a variable stays at 0
        passive[i] = b[i] > 0.0 and G[i, i] > 0.0
        if not passive[i]:
            b[i] = 0.0
    it = 0
    added = -1
    while True:
        # inner loop: go to the least-squares solution on the passive set without leaving b >= 0
        while True:
            it += 1
            if it > max_iter:
                return it, 1
            k = 0
            q = 0
            for i in range(d):
                if passive[i]:
                    idx[k] = i
                    k += 1
                else:
                    zidx[q] = i
                    q += 1
            if k == 0:
                break
            if use_h and q <= k:
                if not _solve_complement(H, x, idx, k, zidx, q, L, z, lam):
                    return it, 2
            else:
                if not _cholesky_sub(G, idx, k, L):
                    return it, 2
                for a in range(k):
                    z[a] = c[idx[a]]
                _cholesky_solve(L, k, z)
            alpha = 1.0
            blocking = -1
            for a in range(k):
                if z[a] <= 0.0:
                    i = idx[a]
                    r = b[i] / (b[i] - z[a])
                    if r < alpha:
                        alpha = r
                        blocking = i
            if blocking < 0:
                for a in range(k):
                    b[idx[a]] = z[a]
                break
            if blocking == added and alpha == 0.0:
                # the variable just added cannot grow: without this check Lawson-Hanson would cycle
                passive[added] = False
                return it, 3
            added = -1
            # step towards z until the first passive variable reaches zero; it (and any other that
            # reached zero) leaves the passive set
            for a in range(k):
                i = idx[a]
                b[i] += alpha * (z[a] - b[i])
                if i == blocking or b[i] <= 0.0:
                    b[i] = 0.0
                    passive[i] = False
        # dual check: the gradient c - G b must be <= tol on the active (zero) variables
        best = -1
        wmax = tol
        for i in range(d):
            if passive[i] or not G[i, i] > 0.0:
                continue
            s = c[i]
            for e in range(d):
                s -= G[i, e] * b[e]
            if s > wmax:
                wmax = s
                best = i
        if best < 0:
            return it, 0
        passive[best] = True
        added = best


@njit(cache=True)
def nnls_gram(G, C, B, rtol, max_iter):
    """Solve min_{b >= 0} 1/2 b'Gb - c_j'b for every column c_j of C (d, m), in place of the warm start B.

    G = A'A and C = A'T give the least-squares problems min ||A b - t_j||. The dual tolerance of
    column j is rtol * max(max|c_j|, max|G| max|b_j|, tiny). Returns per-column (solves, status).
    """
    d, m = C.shape
    solves = np.zeros(m, dtype=np.int64)
    status = np.zeros(m, dtype=np.int64)
    gmax = 0.0
    for i in range(d):
        for e in range(d):
            gmax = max(gmax, abs(G[i, e]))
    idx = np.empty(d, dtype=np.int64)
    zidx = np.empty(d, dtype=np.int64)
    passive = np.empty(d, dtype=np.bool_)
    L = np.empty((d, d))
    z = np.empty(d)
    lam = np.empty(d)
    c = np.empty(d)
    b = np.empty(d)
    x = np.empty(d)
    # H = G^{-1} once per call makes each passive-set solve a small Schur-complement solve; a singular
    # or ill-conditioned G (dead neurons) falls back to one Cholesky factorisation per solve
    H = np.empty((d, d))
    eye = np.eye(d)
    use_h = spd_solve(G, eye, H, 1e-8)
    if use_h:
        for i in range(d):
            for e in range(i):
                v = 0.5 * (H[i, e] + H[e, i])
                H[i, e] = v
                H[e, i] = v
    for j in range(m):
        cmax = 0.0
        bmax = 0.0
        for i in range(d):
            c[i] = C[i, j]
            b[i] = max(B[i, j], 0.0)
            cmax = max(cmax, abs(c[i]))
            bmax = max(bmax, b[i])
        tol = rtol * max(max(cmax, gmax * bmax), 1e-300)
        if use_h:
            for i in range(d):
                s = 0.0
                for e in range(d):
                    s += H[i, e] * c[e]
                x[i] = s
        solves[j], status[j] = _nnls_column(G, c, b, tol, max_iter, idx, passive, L, z, H, x, use_h, zidx, lam)
        for i in range(d):
            B[i, j] = b[i]
    return solves, status


@njit(cache=True)
def spd_solve(G, R, X, min_pivot):
    """X = G^{-1} R for symmetric positive definite G (d, d) and R (d, m).

    False (X undefined) if G is not positive definite or a squared Cholesky pivot is below
    min_pivot times its diagonal entry (numerically singular: the caller falls back to lstsq)."""
    d, m = R.shape
    idx = np.arange(d)
    L = np.empty((d, d))
    if not _cholesky_sub(G, idx, d, L):
        return False
    for a in range(d):
        if L[a, a] * L[a, a] < min_pivot * G[a, a]:
            return False
    # substitutions on whole rows of X: the inner loops run over contiguous memory
    for a in range(d):
        for j in range(m):
            X[a, j] = R[a, j]
        for e in range(a):
            f = L[a, e]
            for j in range(m):
                X[a, j] -= f * X[e, j]
        f = 1.0 / L[a, a]
        for j in range(m):
            X[a, j] *= f
    for a in range(d - 1, -1, -1):
        for e in range(a + 1, d):
            f = L[e, a]
            for j in range(m):
                X[a, j] -= f * X[e, j]
        f = 1.0 / L[a, a]
        for j in range(m):
            X[a, j] *= f
    return True


@njit(cache=True)
def cd_nmf_update(W, HHt, XHt):
    """One coordinate-descent sweep over the columns of W >= 0 for min ||X - W H||^2 (HHt = H H^T,
    XHt = X H^T), in place; returns the summed absolute projected gradient (the "violation").

    The same update, order and violation as scikit-learn's `_update_cdnmf_fast` without shuffling.
    """
    n, k = W.shape
    violation = 0.0
    for t in range(k):
        hess = HHt[t, t]
        for i in range(n):
            grad = -XHt[i, t]
            for r in range(k):
                grad += HHt[t, r] * W[i, r]
            pg = min(0.0, grad) if W[i, t] == 0.0 else grad
            violation += abs(pg)
            if hess != 0.0:
                W[i, t] = max(W[i, t] - grad / hess, 0.0)
    return violation
