"""Numba kernels for the trainer (private; called by ccsolve.train).

Parameter layout (prepared by the Python layer, updated in place):
  wt   (n, d)  W_in transposed, so the input weights of feature j are a contiguous row
  wo   (n, d)  W_out
  sig  (1,)    the mixing scale sigma: labels use M = sigma * G
  gmat (n, n)  G;  gmat_t = G^T (contiguous);  gtg = G^T G;  gtg_diag = diag(G^T G)
Per-step matrices: gram = W_out^T W_out (d, d) and gtw = G^T W_out (n, d), row j = (W_out^T G)[:, j].

A batch is cut into chunks of fixed size, each held in CSR form (sample s of chunk c has entries
indptr[c, s]:indptr[c, s+1] of indices[c]/values[c]), drawn only where features are active. For a
sample with h = ReLU(W_in x), r = ReLU(x), e = W_out h - sigma G x - r, `batch_gradient` forms
  sum ||e||^2, sum e^T G x, gwt = sum_s x_s (W_out^T e_s masked to h_s > 0)^T and
  gwo = sum_s e_s h_s^T = W_out A - sigma G C - R,  A = sum h h^T, C = sum x h^T, R = sum r h^T,
without any n x d work per sample (docs/math.md, "Training gradients"):
  - samples with one active feature i and value t (most non-empty samples at small p) depend on
    (i, sign t, t^2) only: they are counted as S+_i = sum t^2 (t > 0), S-_i = sum t^2 (t < 0) and
    added in `finish` with dense products of P^T = ReLU(W_in^T), N^T = ReLU(-W_in^T);
  - the hidden vectors of a chunk's other samples are stacked into a matrix H, so that H Gram
    (W_out^T W_out h for every sample) and H^T H (its part of A) are two BLAS calls;
  - what is left per sample is O(k d) for k active features.

Determinism: chunk c of step t draws from its own SplitMix64 stream seeded with seeds[t, c] and
writes its own partial sums (chunks run in parallel), which are added in chunk order; within a chunk
everything runs in sample order. Nothing depends on the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .parallel import PRANGE_ONLY
from .rng import below, uniform, uniform_pm1

_FAST = {"reassoc", "contract"}  # vectorise the length-d loops; all inputs are finite


def binomial_cdf(n: int, p: float) -> np.ndarray:
    """cdf[k] = P(Binomial(n, p) <= k), k = 0..n, for draw_batch (computed in log space)."""
    from math import lgamma, log, log1p

    k = np.arange(n + 1)
    if p >= 1.0:
        pmf = (k == n).astype(np.float64)
    else:
        logc = np.array([lgamma(n + 1) - lgamma(i + 1) - lgamma(n - i + 1) for i in range(n + 1)])
        pmf = np.exp(logc + k * log(p) + (n - k) * log1p(-p))
    cdf = np.cumsum(pmf)
    cdf /= cdf[-1]
    cdf[-1] = 2.0  # u < 1 always lands
    return cdf


GATE_P = 0.25  # draw_batch: above this p one gate draw per cell beats Binomial + Floyd
LOOKUP_K = 8  # chunk_sums: up to this many active features, ||G x||^2 and r^T G x from look-ups


@njit(cache=True)
def draw_batch(p, cdf, one_hot, n, sizes, seeds, indptr, indices, values, mark):
    """Draw a batch in CSR form: sum(sizes) samples, chunk c from its own stream seeds[c].

    Bernoulli(p) inputs with values U[-1, 1). For p <= GATE_P the number of active features
    k ~ Binomial(n, p) is drawn by inverse CDF (cdf from binomial_cdf) and then a uniform k-subset
    (Floyd's algorithm): the same law as n independent gates, at one draw per empty sample. Above,
    one gate draw per cell (none at p = 1). One-hot: one uniform feature per sample.
    indices/values need room for batch * n entries; mark is a bool (n,) work array, all False.
    Returns the number of entries.
    """
    s0 = 0
    nnz = 0
    indptr[0] = 0
    state = np.empty(1, dtype=np.uint64)
    gates = not one_hot and p > GATE_P
    for c in range(sizes.shape[0]):
        state[0] = seeds[c]
        for s in range(sizes[c]):
            if gates:
                for i in range(n):
                    # branch-free (the gate is unpredictable): write the cell, keep it if active
                    active = p >= 1.0 or uniform(state) < p
                    indices[nnz] = i
                    values[nnz] = uniform_pm1(state)
                    nnz += active
                indptr[s0 + s + 1] = nnz
                continue
            if one_hot:
                k = 1
            else:
                u = uniform(state)
                k = 0
                while u >= cdf[k]:
                    k += 1
            e0 = nnz
            for j in range(n - k, n):  # Floyd: a uniform k-subset of 0..n-1 in O(k)
                i = np.int64(below(state, j + 1))
                if mark[i]:
                    i = j
                mark[i] = True
                indices[nnz] = i
                nnz += 1
            for e in range(e0, nnz):
                mark[indices[e]] = False
                values[e] = uniform_pm1(state)
            indptr[s0 + s + 1] = nnz
        s0 += sizes[c]
    return nnz


@njit(cache=True)
def csr_to_dense(indptr, indices, values, xr):
    """xr (batch, n), one sample per row, from the CSR batch."""
    xr[:, :] = 0.0
    for s in range(indptr.shape[0] - 1):
        for e in range(indptr[s], indptr[s + 1]):
            xr[s, indices[e]] = values[e]


@njit(cache=True, fastmath=_FAST, inline="always")
def _axpy(y, s, x):
    for a in range(y.shape[0]):
        y[a] += s * x[a]


@njit(cache=True, fastmath=_FAST, inline="always")
def _dot(x, y):
    s = 0.0
    for a in range(x.shape[0]):
        s += x[a] * y[a]
    return s


@njit(cache=True, fastmath=_FAST)
def _hidden(indices, values, e0, e1, wt, h):
    """h = ReLU(sum over entries e0..e1-1 of value * wt[index])."""
    for a in range(h.shape[0]):
        h[a] = 0.0
    for e in range(e0, e1):
        _axpy(h, values[e], wt[indices[e]])
    for a in range(h.shape[0]):
        x = h[a]
        h[a] = x if x > 0.0 else 0.0  # branch-free: the sign is unpredictable


@njit(cache=True, fastmath=_FAST)
def chunk_sums(indptr, indices, values, wt, wo, gram, gtw, gmat, gmat_t, gtg, sigma, has_g,
               hs, zh, amat, gwt, cmat, rmat, spm, u, wr, gh, gx):
    """The sums of one chunk (CSR, sample s = entries indptr[s]:indptr[s+1]) into its own buffers.

    One-feature samples only add t^2 to spm[0, i] (t > 0) or spm[1, i] (t < 0). The hidden vectors of
    the others are stacked in hs; zh = hs Gram and amat = hs^T hs are two BLAS calls; the rest is O(k d)
    per sample into gwt, cmat (C-: x h^T over entries t < 0), rmat (R = C+). Returns (sum ||e||^2,
    sum e^T G x) over those samples.
    Buffers: hs, zh (chunk, d); amat (d, d); gwt, cmat, rmat (n, d); spm (2, n); u, wr, gh (d,); gx (n,).
    """
    d = wt.shape[1]
    n_samples = indptr.shape[0] - 1
    splus = spm[0]
    sminus = spm[1]
    splus[:] = 0.0
    sminus[:] = 0.0
    gwt[:, :] = 0.0
    cmat[:, :] = 0.0
    rmat[:, :] = 0.0
    m = 0
    for s in range(n_samples):
        e0 = indptr[s]
        e1 = indptr[s + 1]
        if e1 - e0 == 1:
            t = values[e0]
            if t > 0.0:
                splus[indices[e0]] += t * t
            else:
                sminus[indices[e0]] += t * t
        elif e1 > e0:
            _hidden(indices, values, e0, e1, wt, hs[m])
            m += 1
    if m == 0:
        amat[:, :] = 0.0
        return 0.0, 0.0
    np.dot(hs[:m], gram, zh[:m])  # W_out^T W_out h for every stacked sample
    np.dot(hs[:m].T, hs[:m], amat)  # sum h h^T
    loss = 0.0
    dsig = 0.0
    r = 0
    for s in range(n_samples):
        e0 = indptr[s]
        e1 = indptr[s + 1]
        if e1 - e0 < 2:
            continue
        h = hs[r]
        zr = zh[r]
        r += 1
        # ||sigma G x + r||^2 = sigma^2 x^T G^T G x + 2 sigma r^T G x + r^T r: for few active features
        # from k^2 look-ups in G^T G and G (at the k ~ 2-3 of small p far cheaper than forming G x), else
        # from G x formed with k contiguous rows of G^T (vectorised; k^2 scattered look-ups lose)
        rr = 0.0
        v = 0.0
        w = 0.0
        big = has_g and e1 - e0 > LOOKUP_K
        if big:
            gx[:] = 0.0
            for e in range(e0, e1):
                _axpy(gx, values[e], gmat_t[indices[e]])
            v = _dot(gx, gx)
        for e in range(e0, e1):
            t = values[e]
            if big:
                if t > 0.0:
                    w += t * gx[indices[e]]
            elif has_g:
                ie = indices[e]
                sv = 0.0
                sw = 0.0
                for f in range(e0, e1):
                    jf = indices[f]
                    sv += values[f] * gtg[ie, jf]
                    sw += values[f] * gmat[ie, jf]
                v += t * sv
                if t > 0.0:
                    w += t * sw
            if t > 0.0:
                rr += t * t
        u[:] = 0.0
        wr[:] = 0.0
        for e in range(e0, e1):
            t = values[e]
            if has_g:
                _axpy(u, t, gtw[indices[e]])
            if t > 0.0:
                _axpy(wr, t, wo[indices[e]])
        hgh = 0.0
        hu = 0.0
        hwr = 0.0
        for a in range(d):
            ha = h[a]
            hgh += ha * zr[a]
            hu += ha * u[a]
            hwr += ha * wr[a]
            g = zr[a] - sigma * u[a] - wr[a]  # (W_out^T e)_a
            gh[a] = g if ha > 0.0 else 0.0
        loss += hgh - 2.0 * sigma * hu - 2.0 * hwr + sigma * sigma * v + 2.0 * sigma * w + rr
        dsig += hu - sigma * v - w
        for e in range(e0, e1):
            row = indices[e]
            t = values[e]
            _axpy(gwt[row], t, gh)
            if t > 0.0:  # R = C+ (x h^T over t > 0); cmat holds C- until finish adds R
                _axpy(rmat[row], t, h)
            else:
                _axpy(cmat[row], t, h)
    return loss, dsig


ROW_BLOCKS = 2  # the per-step dense work is split into this many blocks of features (fixed: determinism)


def row_bounds(n: int) -> np.ndarray:
    """Bounds (ROW_BLOCKS + 1,) of the feature blocks: block b is rows bounds[b]:bounds[b + 1]."""
    return np.linspace(0, n, ROW_BLOCKS + 1).round().astype(np.int64)


@njit(cache=True, fastmath=_FAST)
def one_feature_rows(i0, i1, wt, wo, gram, gtw, gmat, gtg_diag, sigma, has_g, spm, gwt, cmat, rmat, pn, pnw,
                     zpn, a1f, tmp):
    """Add the one-feature samples of features i0..i1-1 (S+- in spm) to gwt, cmat, rmat rows i0:i1;
    a1f (d, d) gets their part of A. Returns their (sum ||e||^2, sum e^T G x).

    Work buffers pn, pnw, zpn (2, n, d): pn[0] = P^T = ReLU(W_in)^T, pn[1] = N^T = ReLU(-W_in)^T,
    pnw: the same times S+-, zpn = pn Gram; tmp (d, d).
    """
    d = wt.shape[1]
    splus = spm[0]
    sminus = spm[1]
    if i1 <= i0:
        a1f[:, :] = 0.0
        return 0.0, 0.0
    for i in range(i0, i1):
        for a in range(d):
            x = wt[i, a]
            pp = x if x > 0.0 else 0.0
            nn = -x if x < 0.0 else 0.0
            pn[0, i, a] = pp
            pn[1, i, a] = nn
            pnw[0, i, a] = splus[i] * pp
            pnw[1, i, a] = sminus[i] * nn
    np.dot(pn[0, i0:i1], gram, zpn[0, i0:i1])
    np.dot(pn[1, i0:i1], gram, zpn[1, i0:i1])
    np.dot(pnw[0, i0:i1].T, pn[0, i0:i1], a1f)
    np.dot(pnw[1, i0:i1].T, pn[1, i0:i1], tmp)
    a1f += tmp
    loss = 0.0
    dsig = 0.0
    # t > 0: W_out^T e = t zp_i, zp_i = Gram P_i - sigma (W_out^T G)_i - W_out^T e_i;
    # t < 0: W_out^T e = |t| zn_i, zn_i = Gram N_i + sigma (W_out^T G)_i
    for i in range(i0, i1):
        sp = splus[i]
        sm = sminus[i]
        gii = gmat[i, i] if has_g else 0.0
        ggii = gtg_diag[i] if has_g else 0.0
        pz = 0.0
        pcross = 0.0
        nz = 0.0
        ncross = 0.0
        pg = 0.0
        ng = 0.0
        for a in range(d):
            gw = sigma * gtw[i, a] if has_g else 0.0
            zp = zpn[0, i, a] - gw - wo[i, a]
            zn = zpn[1, i, a] + gw
            pp = pn[0, i, a]
            nn = pn[1, i, a]
            pz += pp * zp
            pcross += pp * (gw + wo[i, a])
            nz += nn * zn
            ncross += nn * gw
            if has_g:
                pg += pp * gtw[i, a]
                ng += nn * gtw[i, a]
            g = 0.0
            if pp > 0.0:
                g += sp * zp
            if nn > 0.0:
                g -= sm * zn
            gwt[i, a] += g
            cmat[i, a] -= sm * nn
            rmat[i, a] += sp * pp
        c_pos = pz - pcross + 1.0 + 2.0 * sigma * gii + sigma * sigma * ggii  # ||W_out P_i - (I + M)_i||^2
        c_neg = nz + ncross + sigma * sigma * ggii  # ||W_out N_i + M_i||^2
        loss += sp * c_pos + sm * c_neg
        dsig += sp * (pg - gii - sigma * ggii) - sm * (ng + sigma * ggii)
    return loss, dsig


@njit(cache=True)
def _ordered_sum(bufs, out):
    nc = bufs.shape[0]
    b2 = bufs.reshape(nc, -1)
    o2 = out.reshape(-1)
    for i in range(o2.shape[0]):
        o2[i] = b2[0, i]
    for c in range(1, nc):
        for i in range(o2.shape[0]):
            o2[i] += b2[c, i]


@njit(cache=True)
def _ordered_sum_rows(bufs, out, i0, i1):
    """out[i0:i1] = sum over c (in order) of bufs[c, i0:i1]; bufs (nc, n, d)."""
    for i in range(i0, i1):
        for a in range(out.shape[1]):
            out[i, a] = bufs[0, i, a]
    for c in range(1, bufs.shape[0]):
        for i in range(i0, i1):
            for a in range(out.shape[1]):
                out[i, a] += bufs[c, i, a]


class Work:
    """Buffers of batch_gradient for n features, d neurons and a chunk layout (Python side)."""

    def __init__(self, n, d, sizes):
        nc = sizes.shape[0]
        ch = int(sizes.max())
        nb = ROW_BLOCKS
        self.sizes = sizes
        self.indptr = np.zeros((nc, ch + 1), dtype=np.int64)
        self.indices = np.empty((nc, ch * n), dtype=np.int64)
        self.values = np.empty((nc, ch * n))
        self.marks = np.zeros((nc, n), dtype=np.bool_)
        self.hs = np.empty((nc, ch, d))
        self.zh = np.empty((nc, ch, d))
        self.amat_c = np.empty((nc, d, d))
        self.gwt_c = np.empty((nc, n, d))
        self.cmat_c = np.empty((nc, n, d))
        self.rmat_c = np.empty((nc, n, d))
        self.spm_c = np.empty((nc, 2, n))
        self.vec_c = np.empty((nc, 3, d))
        self.gx_c = np.empty((nc, n))
        self.loss_c = np.empty(nc)
        self.dsig_c = np.empty(nc)
        self.bounds = row_bounds(n)
        self.a1f_b = np.empty((nb, d, d))
        self.tmp_b = np.empty((nb, d, d))
        self.loss_b = np.empty(nb)
        self.dsig_b = np.empty(nb)
        self.amat = np.empty((d, d))
        self.cmat = np.empty((n, d))
        self.rmat = np.empty((n, d))
        self.spm = np.empty((2, n))
        self.pn = np.empty((2, n, d))
        self.pnw = np.empty((2, n, d))
        self.zpn = np.empty((2, n, d))

    def args(self):
        return (self.sizes, self.indptr, self.indices, self.values, self.marks, self.hs, self.zh, self.amat_c,
                self.gwt_c, self.cmat_c, self.rmat_c, self.spm_c, self.vec_c, self.gx_c, self.loss_c, self.dsig_c,
                self.bounds, self.a1f_b, self.tmp_b, self.loss_b, self.dsig_b, self.amat, self.cmat, self.rmat,
                self.spm, self.pn, self.pnw, self.zpn)


@njit(cache=True, parallel=PRANGE_ONLY)
def batch_gradient(draw, p, cdf, one_hot, seeds, wt, wo, gram, gtw, gmat, gmat_t, gtg, gtg_diag, sigma,
                   has_g, gwt, sizes, indptr, indices, values, marks, hs, zh, amat_c, gwt_c, cmat_c, rmat_c,
                   spm_c, vec_c, gx_c, loss_c, dsig_c, bounds, a1f_b, tmp_b, loss_b, dsig_b, amat, cmat, rmat, spm,
                   pn, pnw, zpn):
    """One batch: returns (sum ||e||^2, sum e^T G x) and fills gwt (n, d), amat = A (d, d),
    cmat = C and rmat = R (n, d) (module doc; no 2/(B n) factor). gwo = W_out A - sigma G C - R is
    formed by `output_gradient`.

    Two parallel regions: the chunks (draw=True draws chunk c into indptr[c], indices[c], values[c]
    from seeds[c]; draw=False uses the batch already there), then the one-feature terms by blocks of
    features. Partial sums are added in chunk / block order, so nothing depends on the thread count.
    """
    nc = sizes.shape[0]
    n = wt.shape[0]
    for c in prange(nc):
        size = sizes[c]
        if draw:
            draw_batch(p, cdf, one_hot, n, sizes[c:c + 1], seeds[c:c + 1], indptr[c], indices[c], values[c],
                       marks[c])
        l1, l2 = chunk_sums(indptr[c, :size + 1], indices[c], values[c], wt, wo, gram, gtw, gmat, gmat_t,
                            gtg, sigma, has_g, hs[c], zh[c], amat_c[c], gwt_c[c], cmat_c[c], rmat_c[c],
                            spm_c[c], vec_c[c, 0], vec_c[c, 1], vec_c[c, 2], gx_c[c])
        loss_c[c] = l1
        dsig_c[c] = l2
    _ordered_sum(spm_c, spm)
    for b in prange(bounds.shape[0] - 1):
        i0 = bounds[b]
        i1 = bounds[b + 1]
        _ordered_sum_rows(gwt_c, gwt, i0, i1)
        _ordered_sum_rows(cmat_c, cmat, i0, i1)
        _ordered_sum_rows(rmat_c, rmat, i0, i1)
        l1, l2 = one_feature_rows(i0, i1, wt, wo, gram, gtw, gmat, gtg_diag, sigma, has_g, spm, gwt, cmat,
                                  rmat, pn, pnw, zpn, a1f_b[b], tmp_b[b])
        loss_b[b] = l1
        dsig_b[b] = l2
    _ordered_sum(amat_c, amat)
    loss = 0.0
    dsig = 0.0
    for c in range(nc):
        loss += loss_c[c]
        dsig += dsig_c[c]
    for b in range(bounds.shape[0] - 1):
        amat += a1f_b[b]
        loss += loss_b[b]
        dsig += dsig_b[b]
    cmat += rmat  # C = C- + C+
    return loss, dsig


@njit(cache=True, fastmath=_FAST)
def _output_rows(i0, i1, wo, amat, gmat, cmat, rmat, sigma, has_g, gwo):
    """gwo[i0:i1] = (W_out A - sigma G C - R)[i0:i1]."""
    np.dot(wo[i0:i1], amat, gwo[i0:i1])
    if has_g:
        gwo[i0:i1] -= sigma * np.dot(gmat[i0:i1], cmat)
    gwo[i0:i1] -= rmat[i0:i1]


@njit(cache=True, parallel=PRANGE_ONLY)
def output_gradient(bounds, wo, amat, gmat, cmat, rmat, sigma, has_g, gwo):
    """gwo (n, d) = W_out A - sigma G C - R, by blocks of rows."""
    for b in prange(bounds.shape[0] - 1):
        if bounds[b + 1] > bounds[b]:
            _output_rows(bounds[b], bounds[b + 1], wo, amat, gmat, cmat, rmat, sigma, has_g, gwo)


@njit(cache=True)
def adamw(param, grad, m, v, lr, wd, beta1, beta2, eps, step):
    """torch.optim.AdamW (amsgrad=False, maximize=False) on a C-contiguous array, in place; `step`
    counts from 1."""
    bc1 = 1.0 - beta1 ** step
    bc2_sqrt = np.sqrt(1.0 - beta2 ** step)
    _adamw_flat(param.ravel(), grad.ravel(), m.ravel(), v.ravel(), lr / bc1, bc2_sqrt, 1.0 - lr * wd,
                beta1, beta2, eps)


@njit(cache=True, error_model="numpy")  # no zero-division branch (denominators are >= eps): vectorises
def _adamw_flat(p, g, m, v, step_size, bc2_sqrt, decay, beta1, beta2, eps):
    for i in range(p.shape[0]):
        gi = g[i]
        mi = m[i] + (gi - m[i]) * (1.0 - beta1)  # torch: exp_avg.lerp_(grad, 1 - beta1)
        vi = v[i] * beta2 + (1.0 - beta2) * gi * gi
        m[i] = mi
        v[i] = vi
        p[i] = p[i] * decay - step_size * (mi / (np.sqrt(vi) / bc2_sqrt + eps))


@njit(cache=True, parallel=PRANGE_ONLY)
def _update_rows(bounds, wt, wo, gwt, gwo, amat, gmat, cmat, rmat, sigma, has_g, grad_scale, m_wt, v_wt,
                 m_wo, v_wo, lr, wd, beta1, beta2, eps, step, gram_b, gtw_b):
    """By blocks of rows: gwo, the AdamW step of W_in^T and W_out, and the blocks' parts of the next
    step's W_out^T W_out (gram_b) and G^T W_out (gtw_b). Rows are independent in all of them."""
    for b in prange(bounds.shape[0] - 1):
        i0 = bounds[b]
        i1 = bounds[b + 1]
        if i1 <= i0:
            gram_b[b] = 0.0
            gtw_b[b] = 0.0
            continue
        _output_rows(i0, i1, wo, amat, gmat, cmat, rmat, sigma, has_g, gwo)
        gwt[i0:i1] *= grad_scale
        gwo[i0:i1] *= grad_scale
        adamw(wt[i0:i1], gwt[i0:i1], m_wt[i0:i1], v_wt[i0:i1], lr, wd, beta1, beta2, eps, step)
        adamw(wo[i0:i1], gwo[i0:i1], m_wo[i0:i1], v_wo[i0:i1], lr, wd, beta1, beta2, eps, step)
        np.dot(wo[i0:i1].T, wo[i0:i1], gram_b[b])
        if has_g:
            np.dot(gmat[i0:i1].T, wo[i0:i1], gtw_b[b])


@njit(cache=True)
def sparse_block(wt, wo, sig, m_wt, v_wt, m_wo, v_wo, m_sig, v_sig, gmat, gmat_t, gtg, gtg_diag, has_g,
                 learn, p, cdf, one_hot, seeds, lrs, step0, wd, beta1, beta2, eps, scale_loss, losses, sigmas,
                 sizes, indptr, indices, values, marks, hs, zh, amat_c, gwt_c, cmat_c, rmat_c, spm_c, vec_c,
                 gx_c, loss_c, dsig_c, bounds, a1f_b, tmp_b, loss_b, dsig_b, amat, cmat, rmat, spm, pn, pnw, zpn):
    """Run len(lrs) training steps in place (sparse path). seeds (steps, n_chunks), lrs (steps,);
    the trailing arguments are the buffers of Work.

    losses[t] gets the batch L/p (sum ||e||^2 times scale_loss) and sigmas[t] sigma after step t.
    Returns the number of steps done: fewer than asked if the loss became NaN/inf (then
    losses[returned index] is that loss and the parameters are those before the step).
    Three parallel regions per step (chunks; one-feature terms; update), with a few microseconds of
    serial work between them.
    """
    n, d = wt.shape
    nb = bounds.shape[0] - 1
    batch = 0
    for c in range(sizes.shape[0]):
        batch += sizes[c]
    gwt = np.empty((n, d))
    gwo = np.empty((n, d))
    gram = np.empty((d, d))
    gtw = np.zeros((n, d))
    gram_b = np.zeros((nb, d, d))
    gtw_b = np.zeros((nb, n, d))
    gsig = np.empty(1)
    grad_scale = 2.0 / (batch * n)
    # the first step's products from the same block partial sums as all later steps
    for b in range(nb):
        np.dot(wo[bounds[b]:bounds[b + 1]].T, wo[bounds[b]:bounds[b + 1]], gram_b[b])
        if has_g:
            np.dot(gmat[bounds[b]:bounds[b + 1]].T, wo[bounds[b]:bounds[b + 1]], gtw_b[b])
    # a runtime bool (True here): a literal True gave batch_gradient a second signature besides the
    # (bool, ...) one ccsolve.train.sparse_gradients uses, a second full compile in the tests (issue 17)
    draw = lrs.shape[0] > 0
    for t in range(lrs.shape[0]):
        sigma = sig[0]
        _ordered_sum(gram_b, gram)
        if has_g:
            _ordered_sum(gtw_b, gtw)
        loss, dsig = batch_gradient(draw, p, cdf, one_hot, seeds[t], wt, wo, gram, gtw, gmat, gmat_t, gtg,
                                    gtg_diag, sigma, has_g, gwt, sizes, indptr, indices, values, marks, hs,
                                    zh, amat_c, gwt_c, cmat_c, rmat_c, spm_c, vec_c, gx_c, loss_c, dsig_c, bounds,
                                    a1f_b, tmp_b, loss_b, dsig_b, amat, cmat, rmat, spm, pn, pnw, zpn)
        losses[t] = loss * scale_loss
        if not np.isfinite(loss):
            return t
        _update_rows(bounds, wt, wo, gwt, gwo, amat, gmat, cmat, rmat, sigma, has_g, grad_scale, m_wt, v_wt,
                     m_wo, v_wo, lrs[t], wd, beta1, beta2, eps, step0 + t + 1, gram_b, gtw_b)
        if learn:
            gsig[0] = -grad_scale * dsig
            # (1, 1) views: the same 2-d adamw signature as _update_rows' calls (one compile, not two)
            adamw(sig.reshape(1, 1), gsig.reshape(1, 1), m_sig.reshape(1, 1), v_sig.reshape(1, 1), lrs[t], wd,
                  beta1, beta2, eps, step0 + t + 1)
        sigmas[t] = sig[0]
    return lrs.shape[0]
