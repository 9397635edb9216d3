"""Exact E_2 at any depth: the expected squared error with exactly two active features.

With features i, j active at (s, t) ~ U[-1, 1]^2 the error is positively homogeneous of degree 1 in
(s, t) and piecewise linear on a fan of sectors through the origin: the labels break on the axes,
each neuron of layer 1 on one line through the origin, and each neuron of layer l on a ray inside
every sector of layers < l where its (there linear) pre-activation changes sign. The fan is built
layer by layer on the boundary of the square (initial rays: the axes and the diagonals, so every
sector's chord lies on one edge of the square): a chord P_a P_b whose layer-l pre-activation of some
neuron has opposite signs at the ends is cut at the zero, which is exact because the pre-activation
is linear on the sector. On each final triangle (0, P_a, P_b) the error is linear, err(0) = 0, so
  int ||err||^2 = area / 6 (||e_a||^2 + ||e_b||^2 + e_a . e_b),
and E[||err||^2 | i, j] = (sum over triangles) / 4. E_2 is the mean over the n(n-1)/2 pairs.
"""

from __future__ import annotations

import numpy as np

from . import _model

_INIT = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [-1.0, 1.0], [-1.0, 0.0], [-1.0, -1.0], [0.0, -1.0],
                  [1.0, -1.0]])


def _rows(pts, i, j, n, gram, lpos, lneg):
    x = np.zeros((pts.shape[0], n))
    x[:, i] = pts[:, 0]
    x[:, j] = pts[:, 1]
    y = np.where(x > 0, lpos * x, -lneg * x)
    return x, x @ gram - y


def pair_expectation(i, j, prods, gram, lpos, lneg, n_layers):
    """(E[||err||^2 | features i, j active], number of sectors)."""
    n = gram.shape[0]
    a, b, c = prods
    pts = _INIT.copy()
    for l in range(n_layers):
        x, base = _rows(pts, i, j, n, gram, lpos, lneg)
        zs, _, _ = _model.forward(x, base, a[:l + 1], [row[:l + 1] for row in b[:l + 1]], c[:l + 1])
        z = zs[l]
        k = pts.shape[0]
        nxt = np.roll(np.arange(k), -1)
        za, zb = z, z[nxt]
        cross = za * zb < 0.0
        if not cross.any():
            continue
        new = []
        for s in range(k):
            new.append(pts[s])
            if cross[s].any():
                lam = za[s, cross[s]] / (za[s, cross[s]] - zb[s, cross[s]])
                lam = np.unique(lam[(lam > 0.0) & (lam < 1.0)])
                d = pts[nxt[s]] - pts[s]
                for t in lam:
                    new.append(pts[s] + t * d)
        pts = np.array(new)
    x, base = _rows(pts, i, j, n, gram, lpos, lneg)
    _, _, err = _model.forward(x, base, a, b, c)
    eb = np.roll(err, -1, axis=0)
    pb = np.roll(pts, -1, axis=0)
    area = 0.5 * np.abs(pts[:, 0] * pb[:, 1] - pts[:, 1] * pb[:, 0])
    quad = np.einsum("ij,ij->i", err, err) + np.einsum("ij,ij->i", eb, eb) + np.einsum("ij,ij->i", err, eb)
    return float(np.sum(area * quad) / 6.0 / 4.0), pts.shape[0]


def two_active_expectation(w_in, w_out, emb, gram, lpos, lneg, progress=False):
    """(E_2 = mean over pairs of E[||err||^2 | the pair active], mean number of sectors per pair)."""
    from ..core.progress import progress_bar

    n = gram.shape[0]
    prods = _model.products(w_in, w_out, emb)
    total = 0.0
    sectors = 0
    count = 0
    with progress_bar(progress, n * (n - 1) // 2, "E_2 pairs", unit="pair") as bar:
        for i in range(n):
            for j in range(i + 1, n):
                e, s = pair_expectation(i, j, prods, gram, lpos, lneg, len(w_in))
                total += e
                sectors += s
                count += 1
            bar.update(n - 1 - i)
    return total / count, sectors / count
