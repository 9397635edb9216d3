"""Numba Monte Carlo kernels for the CC loss (private; called by ccsolve.loss and ccsolve.stratified).

Layout expected by the sparse kernels (built by `prepare`):
  w_in_t   (n, d)  W_in transposed, so the weights of feature i are a contiguous row
  w_out    (n, d)  W_out
  gram     (d, d)  W_out^T W_out
  mt_wout  (n, d)  M^T W_out, row j = (W_out^T M)[:, j]
  m_t      (n, n)  M^T, row j = column j of M
  mtm      (n, n)  M^T M
  c_pos, c_neg (n,) one-hot errors per unit input (closed_forms.one_hot_feature_errors)

Determinism: samples are split into chunks whose layout depends only on n_samples; chunk c seeds the
SplitMix64 generator (rng.py) with seeds[c], so the result does not depend on which thread
runs which chunk, nor on the thread count. Per-chunk sums are combined by the caller in chunk order.

Speed notes (measured, docs/benchmarks.md "Monte Carlo evaluator"):
- `sample_error` is inlined at the Numba IR level (inline="always"): a plain call cost ~100 ns here (13
  arrays passed as exploded structs), more than a one-feature sample. Inlined code takes the CALLER's fastmath
  flags, so callers must be compiled with fastmath=_FAST for the dot products to vectorise.
- _FAST is only {"reassoc", "contract"}: no "nnan"/"ninf", so the -inf test in rng.geometric stays valid.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, uint64

from .parallel import PRANGE_ONLY
from .rng import below, geometric, uniform_pm1

try:  # LLVM's cttz; Numba-internal, so keep a fallback
    from numba.cpython.unsafe.numbers import trailing_zeros

    _BITMASK = True
except ImportError:  # pragma: no cover
    trailing_zeros = None
    _BITMASK = False

# Up to this many active features a sample uses the Gram expansion (O(k^2 + k d + d * active neurons));
# above it the error vector is formed directly (O(n d + n k)). Measured crossover: docs/benchmarks.md.
GRAM_MAX_ACTIVE = 22
# From this many active features ||M x + ReLU(x)||^2 is formed as a vector (O(n k)) instead of O(k^2) lookups.
LABEL_VECTOR_MIN_ACTIVE = 10

# reassoc lets LLVM vectorise the dot-product reductions, contract fuses multiply-adds; inputs are finite.
_FAST = {"reassoc", "contract"}


@njit(cache=True, inline="always")
def _relu(x):
    # not the builtin max(): Numba compiles it to a call that LLVM neither inlines nor vectorises
    return x if x > 0.0 else 0.0


@njit(cache=True, fastmath=_FAST, inline="always")
def sample_error(idx, val, k, w_in_t, w_out, gram, mt_wout, m_t, mtm, c_pos, c_neg, h, act, e):
    """||W_out ReLU(W_in x) - ReLU(x) - M x||^2 for the sample with active entries idx[:k], val[:k] (k >= 1).

    Scratch: h (d,), act (d,) int64, e (n,). Inlined: call it from a fastmath=_FAST kernel.
    """
    if k == 1:
        t = val[0]
        return t * t * (c_pos[idx[0]] if t > 0 else c_neg[idx[0]])
    if k > GRAM_MAX_ACTIVE:
        return _direct_error(idx, val, k, w_in_t, w_out, m_t, h, e)
    return _gram_error(idx, val, k, w_in_t, w_out, gram, mt_wout, m_t, mtm, h, act, e, LABEL_VECTOR_MIN_ACTIVE)


@njit(cache=True, fastmath=_FAST, inline="always")
def _gram_error(idx, val, k, w_in_t, w_out, gram, mt_wout, m_t, mtm, h, act, e, label_vector_min):
    """The squared error of a sample with k >= 2 active features by the Gram expansion."""
    n, d = w_in_t.shape
    # Gram expansion with r = ReLU(x), h = ReLU(W_in x):
    # ||W_out h - M x - r||^2 = h^T G h - 2 h^T W_out^T (M x + r) + ||M x + r||^2,
    # ||M x + r||^2 = x^T M^T M x + 2 (M x)^T r + r^T r, all on the k active entries.
    # (branch-free: the signs of the values are coin flips, a branch on them mispredicts half the time)
    total = 0.0
    if k < label_vector_min:
        for j in range(k):
            row = idx[j]
            t = val[j]
            s = _relu(t)
            for l in range(k):
                il = idx[l]
                tl = val[l]
                s += tl * mtm[row, il] + 2.0 * _relu(tl) * m_t[row, il]
            total += t * s
    else:
        # k^2 scattered reads of M^T M cost more than forming y = M x + r (k contiguous rows of M^T)
        r0 = idx[0]
        t0 = val[0]
        for o in range(n):
            e[o] = m_t[r0, o] * t0
        for j in range(1, k):
            row = idx[j]
            t = val[j]
            for o in range(n):
                e[o] += m_t[row, o] * t
        for j in range(k):
            e[idx[j]] += _relu(val[j])
        for o in range(n):
            total += e[o] * e[o]
    # h and the label term h^T W_out^T (M x + r): one pass over the neurons for k = 2
    lab = 0.0
    if k == 2:
        r0 = idx[0]
        t0 = val[0]
        p0 = _relu(t0)
        r1 = idx[1]
        t1 = val[1]
        p1 = _relu(t1)
        for a in range(d):
            ha = _relu(w_in_t[r0, a] * t0 + w_in_t[r1, a] * t1)
            h[a] = ha
            lab += ha * (mt_wout[r0, a] * t0 + w_out[r0, a] * p0 + mt_wout[r1, a] * t1 + w_out[r1, a] * p1)
    else:
        r0 = idx[0]
        t0 = val[0]
        for a in range(d):
            h[a] = w_in_t[r0, a] * t0
        for j in range(1, k):
            row = idx[j]
            t = val[j]
            for a in range(d):
                h[a] += w_in_t[row, a] * t
        p0 = _relu(t0)
        for a in range(d):
            ha = _relu(h[a])
            h[a] = ha
            lab += ha * (mt_wout[r0, a] * t0 + w_out[r0, a] * p0)
        for j in range(1, k):
            row = idx[j]
            t = val[j]
            pj = _relu(t)
            for a in range(d):
                lab += h[a] * (mt_wout[row, a] * t + w_out[row, a] * pj)
    total -= 2.0 * lab
    # h^T G h over the active neurons only; h keeps its zeros so each row is a contiguous SIMD dot
    # product, two rows per pass so that h is loaded once for both
    if _BITMASK and d <= 64:
        quad = _quad_bitmask(gram, h, d)
    else:
        quad = _quad_compact(gram, h, act, d)
    return total + quad


@njit(cache=True, fastmath=_FAST, inline="always")
def _quad_bitmask(gram, h, d):
    """h^T G h for d <= 64, active neurons taken from a bit mask (trailing-zero count: no branchy compaction)."""
    mask = uint64(0)
    for a in range(d):
        mask |= uint64(h[a] > 0.0) << uint64(a)
    quad = 0.0
    while mask != 0:
        a0 = trailing_zeros(mask)
        mask &= mask - uint64(1)
        if mask == 0:
            s0 = 0.0
            for w in range(d):
                s0 += gram[a0, w] * h[w]
            return quad + h[a0] * s0
        a1 = trailing_zeros(mask)
        mask &= mask - uint64(1)
        s0 = 0.0
        s1 = 0.0
        for w in range(d):
            hw = h[w]
            s0 += gram[a0, w] * hw
            s1 += gram[a1, w] * hw
        quad += h[a0] * s0 + h[a1] * s1
    return quad


@njit(cache=True, fastmath=_FAST, inline="always")
def _quad_compact(gram, h, act, d):
    """h^T G h, active neurons listed in act by a branch-free compaction (any d)."""
    na = 0
    for a in range(d):
        act[na] = a
        na += h[a] > 0.0
    quad = 0.0
    u = 0
    while u + 1 < na:
        a0 = act[u]
        a1 = act[u + 1]
        s0 = 0.0
        s1 = 0.0
        for w in range(d):
            hw = h[w]
            s0 += gram[a0, w] * hw
            s1 += gram[a1, w] * hw
        quad += h[a0] * s0 + h[a1] * s1
        u += 2
    if u < na:
        a0 = act[u]
        s0 = 0.0
        for w in range(d):
            s0 += gram[a0, w] * h[w]
        quad += h[a0] * s0
    return quad


@njit(cache=True, fastmath=_FAST, inline="always")
def _direct_error(idx, val, k, w_in_t, w_out, m_t, h, e):
    """The error vector formed in full: O(n d + n k) for a sample with many active features."""
    n, d = w_in_t.shape
    r0 = idx[0]
    t0 = val[0]
    for a in range(d):
        h[a] = w_in_t[r0, a] * t0
    for j in range(1, k):
        row = idx[j]
        t = val[j]
        for a in range(d):
            h[a] += w_in_t[row, a] * t
    for a in range(d):
        h[a] = _relu(h[a])
    for o in range(n):
        s = 0.0
        for a in range(d):
            s += w_out[o, a] * h[a]
        e[o] = s
    for j in range(k):
        row = idx[j]
        t = val[j]
        for o in range(n):
            e[o] -= m_t[row, o] * t
        e[row] -= _relu(t)
    total = 0.0
    for o in range(n):
        total += e[o] * e[o]
    return total


@njit(cache=True, fastmath=_FAST)
def _sample_error(idx, val, k, w_in_t, w_out, gram, mt_wout, m_t, mtm, c_pos, c_neg, h, act, e):
    """||W_out ReLU(W_in x) - ReLU(x) - M x||^2 for the sample with active entries idx[:k], val[:k].

    A called (not inlined) entry point to `sample_error`, same arguments; hot loops should inline
    `sample_error` instead (see the module docstring).
    """
    return sample_error(idx, val, k, w_in_t, w_out, gram, mt_wout, m_t, mtm, c_pos, c_neg, h, act, e)


@njit(cache=True, fastmath=_FAST)
def prepare(w_in, w_out, m):
    """The kernel arrays (w_in_t, w_out, gram, mt_wout, m_t, mtm) of the layout above, from
    W_in (d, n), W_out (n, d) and M (n, n).

    Plain loops, not BLAS: on the loaded 2-core machine a threaded OpenBLAS took ~20 ms for these
    10^6-flop products (its threads waiting to be scheduled), more than a 10^6-sample evaluation at p = 0.001.
    """
    d, n = w_in.shape
    w_in_t = np.ascontiguousarray(w_in.T)
    w_out_c = np.ascontiguousarray(w_out)
    m_c = np.ascontiguousarray(m)
    m_t = np.ascontiguousarray(m.T)
    gram = np.zeros((d, d))
    mt_wout = np.zeros((n, d))
    mtm = np.zeros((n, n))
    for o in range(n):
        for a in range(d):
            c = w_out_c[o, a]
            for b in range(d):
                gram[a, b] += c * w_out_c[o, b]
        for j in range(n):
            c = m_c[o, j]
            for a in range(d):
                mt_wout[j, a] += c * w_out_c[o, a]
            for l in range(n):
                mtm[j, l] += c * m_c[o, l]
    return w_in_t, w_out_c, gram, mt_wout, m_t, mtm


@njit(cache=True, parallel=PRANGE_ONLY, fastmath=_FAST)
def bernoulli_chunks(w_in_t, w_out, gram, mt_wout, m_t, mtm, c_pos, c_neg, p, chunk_sizes, seeds):
    """Per-chunk (sum, sum of squares, non-empty count) of the per-sample squared error.

    Active entries are generated by geometric skips over the flattened (sample, feature) grid, so
    empty samples cost nothing and a chunk costs O(number of active entries). The chunk's loop stays in
    the prange body although a per-chunk function would compile in half the time: Numba marks the
    parallel body's array arguments noalias, which made the kernel 5-8% faster.
    """
    n, d = w_in_t.shape
    n_chunks = chunk_sizes.shape[0]
    sums = np.zeros(n_chunks)
    sumsq = np.zeros(n_chunks)
    nonempty = np.zeros(n_chunks, dtype=np.int64)
    log1mp = np.log1p(-p) if p < 1.0 else -np.inf
    for c in prange(n_chunks):
        state = np.empty(1, dtype=np.uint64)
        state[0] = seeds[c]
        idx = np.empty(n, dtype=np.int64)
        val = np.empty(n)
        h = np.empty(d)
        act = np.empty(d, dtype=np.int64)
        e = np.empty(n)
        total_cells = chunk_sizes[c] * n
        pos = -1
        current = -1
        k = 0
        s1 = 0.0
        s2 = 0.0
        cnt = 0
        while True:
            pos += geometric(state, log1mp)
            sample = pos // n if pos < total_cells else -2
            if sample != current:
                if k > 0:
                    if k == 1:  # the most common non-empty sample at small p: one table lookup
                        t = val[0]
                        err = t * t * (c_pos[idx[0]] if t > 0 else c_neg[idx[0]])
                    else:
                        err = sample_error(idx, val, k, w_in_t, w_out, gram, mt_wout, m_t, mtm,
                                           c_pos, c_neg, h, act, e)
                    s1 += err
                    s2 += err * err
                    cnt += 1
                current = sample
                k = 0
            if sample == -2:
                break
            idx[k] = pos - sample * n
            val[k] = uniform_pm1(state)
            k += 1
        sums[c] = s1
        sumsq[c] = s2
        nonempty[c] = cnt
    return sums, sumsq, nonempty


@njit(cache=True, parallel=PRANGE_ONLY)
def one_hot_chunks(c_pos, c_neg, chunk_sizes, seeds):
    """Per-chunk (sum, sum of squares) of the squared error with exactly one active feature."""
    n = c_pos.shape[0]
    n_chunks = chunk_sizes.shape[0]
    sums = np.zeros(n_chunks)
    sumsq = np.zeros(n_chunks)
    for c in prange(n_chunks):
        state = np.empty(1, dtype=np.uint64)
        state[0] = seeds[c]
        s1 = 0.0
        s2 = 0.0
        for _ in range(chunk_sizes[c]):
            i = below(state, n)
            t = uniform_pm1(state)
            err = t * t * (c_pos[i] if t > 0 else c_neg[i])
            s1 += err
            s2 += err * err
        sums[c] = s1
        sumsq[c] = s2
    return sums, sumsq


@njit(cache=True)
def dense_inputs(x, log1mp, state):
    """Fill x (n_samples, n_features), C-contiguous, in place with Bernoulli(p) x U[-1, 1) inputs.

    The same geometric-skip sampler as bernoulli_chunks over the flattened (sample, feature) grid
    (log1mp = log(1 - p); p = 1 draws every entry); `state` (rng.py) advances in place.
    """
    flat = x.reshape(-1)
    total = flat.shape[0]
    if log1mp == -np.inf:
        for i in range(total):
            flat[i] = uniform_pm1(state)
        return
    flat[:] = 0.0
    pos = -1
    while True:
        pos += geometric(state, log1mp)
        if pos >= total:
            return
        flat[pos] = uniform_pm1(state)


@njit(cache=True, fastmath=_FAST)
def _dense_chunk(w_in_t, w_out_t, m_t, log1mp, size, seed, batch):
    """(sum, sum of squares) of the squared error over one chunk on the dense path."""
    n, d = w_in_t.shape
    state = np.empty(1, dtype=np.uint64)
    state[0] = seed
    s1 = 0.0
    s2 = 0.0
    b0 = 0
    while b0 < size:
        b = min(batch, size - b0)
        x = np.empty((b, n))
        z = np.empty((b, d))
        e = np.empty((b, n))
        t = np.empty((b, n))
        dense_inputs(x, log1mp, state)
        np.dot(x, w_in_t, z)
        for i in range(b):
            for a in range(d):
                z[i, a] = _relu(z[i, a])
        np.dot(z, w_out_t, e)
        np.dot(x, m_t, t)
        for i in range(b):
            acc = 0.0
            for o in range(n):
                r = e[i, o] - t[i, o] - _relu(x[i, o])
                acc += r * r
            s1 += acc
            s2 += acc * acc
        b0 += b
    return s1, s2


@njit(cache=True, parallel=PRANGE_ONLY)
def dense_chunks(w_in_t, w_out_t, m_t, p, chunk_sizes, seeds, batch):
    """Per-chunk (sum, sum of squares) of the squared error on the dense path (large p).

    Each chunk draws batches of `batch` samples in row layout (samples x features) with the skip
    sampler (dense_inputs) and forms the errors with BLAS (np.dot). The chunks run on Numba's threads:
    call it with the BLAS on one thread (loss.monte_carlo does), so that the threads do not fight.
    w_in_t (n, d) = W_in^T, w_out_t (d, n) = W_out^T, m_t (n, n) = M^T.
    """
    n_chunks = chunk_sizes.shape[0]
    sums = np.zeros(n_chunks)
    sumsq = np.zeros(n_chunks)
    log1mp = np.log1p(-p) if p < 1.0 else -np.inf
    for c in prange(n_chunks):
        s1, s2 = _dense_chunk(w_in_t, w_out_t, m_t, log1mp, chunk_sizes[c], seeds[c], batch)
        sums[c] = s1
        sumsq[c] = s2
    return sums, sumsq
