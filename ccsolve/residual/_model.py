"""The residual MLP in feature space (private): forward, hand-written backward, and the dense
residual-stream reference. Derivation: docs/residual.md, "Feature-space forward and gradients".

With A_l = W_in[l] E (d_l, n), B_lk = W_in[l] W_out[k] (d_l, d_k, k < l), C_k = E^T W_out[k] (n, d_k)
and G = E^T E, a batch X (m, n) (row per sample) gives
  Z_l = X A_l^T + sum_{k<l} H_k B_lk^T,  H_l = ReLU(Z_l),  Err = X G - Y + sum_k H_k C_k^T,
so no step touches d_embed except forming A, B, C (once per batch) and mapping their gradients back:
  dW_in[l] = dA_l E^T + sum_{k<l} dB_lk W_out[k]^T,  dW_out[k] = E dC_k + sum_{l>k} W_in[l]^T dB_lk.
"""

from __future__ import annotations

import numpy as np


def products(w_in, w_out, emb):
    """(A, B, C): A[l] = W_in[l] E, B[l][k] = W_in[l] W_out[k] (k < l), C[k] = E^T W_out[k]."""
    n_layers = len(w_in)
    a = [w_in[l] @ emb for l in range(n_layers)]
    b = [[w_in[l] @ w_out[k] for k in range(l)] for l in range(n_layers)]
    c = [emb.T @ w_out[k] for k in range(n_layers)]
    return a, b, c


def forward(x, base, a, b, c):
    """Pre-activations Z, hidden H (lists over layers, (m, d_l)) and Err (m, n) for rows x, base =
    X G - Y (from the sampler)."""
    zs, hs = [], []
    err = base.copy()
    for l in range(len(a)):
        z = x @ a[l].T
        for k in range(l):
            z += hs[k] @ b[l][k].T
        h = np.maximum(z, 0.0)
        zs.append(z)
        hs.append(h)
        err += h @ c[l].T
    return zs, hs, err


def backward(x, zs, hs, derr, a, b, c):
    """Gradients (dA, dB, dC) of <derr, Err> (derr = dLoss/dErr)."""
    n_layers = len(a)
    dz = [None] * n_layers
    for l in range(n_layers - 1, -1, -1):
        dh = derr @ c[l]
        for j in range(l + 1, n_layers):
            dh += dz[j] @ b[j][l]
        dh[zs[l] <= 0.0] = 0.0
        dz[l] = dh
    da = [dz[l].T @ x for l in range(n_layers)]
    db = [[dz[l].T @ hs[k] for k in range(l)] for l in range(n_layers)]
    dc = [derr.T @ hs[k] for k in range(n_layers)]
    return da, db, dc


def to_residual_gradients(da, db, dc, w_in, w_out, emb):
    """(dW_in, dW_out) from the feature-space gradients (chain rule through A, B, C)."""
    n_layers = len(w_in)
    g_in = []
    for l in range(n_layers):
        g = da[l] @ emb.T
        for k in range(l):
            g += db[l][k] @ w_out[k].T
        g_in.append(g)
    g_out = []
    for k in range(n_layers):
        g = emb @ dc[k]
        for l in range(k + 1, n_layers):
            g += w_in[l].T @ db[l][k]
        g_out.append(g)
    return g_in, g_out


def unit_errors(w_in, w_out, emb, gram, lpos, lneg):
    """(c_pos, c_neg), (n,) each: ||y_hat(+-e_i) - y(+-e_i)||^2 for a unit input on feature i alone.

    By positive homogeneity the error at t e_i is |t| times the error at sign(t) e_i."""
    n = gram.shape[0]
    a, b, c = products(w_in, w_out, emb)
    out = []
    for sign, slope in ((1.0, lpos), (-1.0, lneg)):
        x = sign * np.eye(n)
        base = sign * gram - np.diag(slope)  # X G - Y: y(+e_i) = lpos_i e_i, y(-e_i) = lneg_i e_i
        _, _, err = forward(x, base, a, b, c)
        out.append(np.einsum("ij,ij->i", err, err))
    return out[0], out[1]


def dense_errors(x_rows, w_in, w_out, emb, labels_rows):
    """Err (m, n) the way spd's torch model computes it: resid = X W_E, resid += MLP(resid) per
    layer, out = resid W_U (W_E = E^T, W_U = E), all in the d_embed-wide stream."""
    resid = x_rows @ emb.T
    for a, b in zip(w_in, w_out):
        resid = resid + np.maximum(resid @ a.T, 0.0) @ b.T
    return resid @ emb - labels_rows
