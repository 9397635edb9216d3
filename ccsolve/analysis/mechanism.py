"""Scalar measurements of mechanism for any weights (issue 14), ccsolve.analysis.mechanism.

Every function takes `weights` (ccsolve.Weights, or a result with .weights) and, where needed, `mixing`
(a ccsolve.Task or the (n, n) matrix M). Column convention: y_hat = W_out ReLU(W_in x), W_in (d, n),
W_out (n, d). Definitions (docs/mechanism.md):

  input_sign            share of positive input weight: sum of positive |W_in| over sum |W_in|, the
                        same for squared entries, and the fraction of entries > 0
  participation         participation-ratio sparsity PR(v) = (sum v^2)^2 / sum v^4 (1 for a one-hot
                        vector, len(v) for a flat one) of the rows of W_in (features a neuron reads),
                        the columns of W_out (outputs a neuron writes) and the columns of W_in
                        (neurons reading a feature), averaged
  product_fit           W_out W_in against I + M: ccsolve.analysis.product_vs_mixing (off-diagonal slope
                        through the origin, diagonal a M_ii + b) plus relative residuals
  subspace_overlap      principal angles between the row space of W_in and the top-k eigenvectors of
                        (M + M^T)/2 (largest eigenvalues), the top-k right singular vectors of M and of
                        I + M; summarised by the mean squared cosine (k/n for a random k-subspace)
  one_hot_gain          per-feature slope of the own output (W_out ReLU(W_in))_ii, and the share of the
                        one-hot label energy explained, 1 - error_i / label_i; mean, sd, min, max
  interference          E_2 - 2 E_1 (the pair error minus the two one-feature errors at the same values)
                        in total (exact), per pair (exact, ccsolve.stratified.pair_errors) and by sign
                        combination of the two inputs and of M_ij (seeded Monte Carlo, one-feature errors
                        subtracted sample by sample)
  neuron_split          how each neuron's own-output contribution W_out[i, a] ReLU(W_in[a, i]) splits over
                        features: effective number of features per neuron, largest share
  mechanism_summary     all of the above as one flat dict of floats (the docs/mechanism.md table row)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core import validation as v
from ..core.blas import one_blas_thread
from ..core.weights import Weights, check_weights
from ..evaluation.closed_forms import one_hot_feature_errors, one_hot_loss
from .structure import _mixing_for, product_vs_mixing

__all__ = [
    "participation_ratio",
    "input_sign",
    "participation",
    "product_fit",
    "subspace_overlap",
    "one_hot_gain",
    "interference",
    "neuron_split",
    "mechanism_summary",
    "Interference",
]


def _w(weights) -> Weights:
    return check_weights(getattr(weights, "weights", weights))


def participation_ratio(x, axis: int = -1) -> np.ndarray:
    """PR = (sum x^2)^2 / sum x^4 along `axis`: 1 for one nonzero entry, len for equal magnitudes, 0 for 0."""
    x = np.asarray(x, dtype=np.float64)
    s2 = np.sum(x * x, axis=axis)
    s4 = np.sum(x**4, axis=axis)
    return np.where(s4 > 0, s2 * s2 / np.where(s4 > 0, s4, 1.0), 0.0)


def input_sign(weights) -> dict:
    """{"positive_share_abs", "positive_share_sq", "positive_fraction"} of the entries of W_in."""
    w = _w(weights).W_in
    a = np.abs(w)
    tot, tot2 = float(a.sum()), float((w * w).sum())
    pos = w > 0
    return {
        "positive_share_abs": float(a[pos].sum() / tot) if tot > 0 else float("nan"),
        "positive_share_sq": float((w[pos] ** 2).sum() / tot2) if tot2 > 0 else float("nan"),
        "positive_fraction": float(pos.mean()),
    }


def participation(weights) -> dict:
    """Mean participation ratios: W_in rows (pr_in_rows), W_out columns (pr_out_cols), W_in columns
    (pr_in_cols); zero vectors are left out of the means. Also the positive part's PR of the W_in rows."""
    w = _w(weights)

    def mean_nonzero(pr):
        pr = pr[pr > 0]
        return float(pr.mean()) if pr.size else 0.0

    return {
        "pr_in_rows": mean_nonzero(participation_ratio(w.W_in, axis=1)),
        "pr_in_rows_positive": mean_nonzero(participation_ratio(np.maximum(w.W_in, 0.0), axis=1)),
        "pr_out_cols": mean_nonzero(participation_ratio(w.W_out, axis=0)),
        "pr_in_cols": mean_nonzero(participation_ratio(w.W_in, axis=0)),
    }


@one_blas_thread
def product_fit(weights, mixing) -> dict:
    """W_out W_in = P against I + M.

    offdiag_slope (P_ij ~ s M_ij through 0), offdiag_r, diag_slope / diag_intercept (P_ii ~ a M_ii + b;
    a = nan for a constant diagonal such as the embedding M's 0), diag_mean; residual_identity_plus_mixing
    = ||P - (I + M)||_F / ||I + M||_F; residual_fit = ||P - F||_F / ||P||_F with F the two fits (diagonal
    fit on the diagonal, s M_ij off it): how much of P the "scaled M" picture leaves out.
    """
    w = _w(weights)
    m = _mixing_for(mixing, w)
    pv = product_vs_mixing(w, m)
    n = m.shape[0]
    p = pv.product
    fit = pv.offdiag_slope * m
    md = np.diag(m)
    diag_fit = pv.diag_intercept + (0.0 if not np.isfinite(pv.diag_slope) else pv.diag_slope) * md
    fit[np.diag_indices(n)] = diag_fit
    ipm = np.eye(n) + m
    norm_p = float(np.linalg.norm(p))
    return {
        "offdiag_slope": pv.offdiag_slope,
        "offdiag_r": pv.offdiag_r,
        "diag_slope": pv.diag_slope,
        "diag_intercept": pv.diag_intercept,
        "diag_mean": float(np.mean(np.diag(p))),
        "residual_identity_plus_mixing": float(np.linalg.norm(p - ipm) / np.linalg.norm(ipm)),
        "residual_fit": float(np.linalg.norm(p - fit) / norm_p) if norm_p > 0 else float("nan"),
    }


def _row_space(w_in: np.ndarray, rtol: float = 1e-10) -> np.ndarray:
    """Orthonormal basis (n, r) of the row space of W_in."""
    u, s, vt = np.linalg.svd(w_in, full_matrices=False)
    r = int(np.sum(s > rtol * max(float(s[0]) if s.size else 0.0, 1e-300)))
    return vt[:r].T


def _overlap(q: np.ndarray, basis: np.ndarray) -> tuple[float, np.ndarray]:
    """(mean squared cosine of the principal angles, the cosines) between span(q) and span(basis);
    both orthonormal. The mean is over the min(dim) angles."""
    if q.shape[1] == 0 or basis.shape[1] == 0:
        return 0.0, np.zeros(0)
    cos = np.clip(np.linalg.svd(q.T @ basis, compute_uv=False), 0.0, 1.0)
    return float(np.mean(cos**2)), cos


@one_blas_thread
def subspace_overlap(weights, mixing, k: int | None = None) -> dict:
    """Principal angles between the row space of W_in and leading directions of M (k of them; default
    the rank of W_in, at most n_neurons).

    Returns {"rank_in", "k", "eig_top", "eig_bottom", "svd_mixing", "svd_identity_plus_mixing",
    "random_baseline"}: mean squared cosines of the principal angles with the top-k eigenvectors of
    (M + M^T)/2 (largest eigenvalues), the bottom-k (most negative), the top-k right singular vectors
    of M and of I + M. "random_baseline" = k / n is the expected value for a random k-subspace when
    rank_in = k. Exactly 1 when the read directions span the compared subspace.
    """
    w = _w(weights)
    m = _mixing_for(mixing, w)
    n = m.shape[0]
    q = _row_space(w.W_in)
    r = q.shape[1]
    k = r if k is None else v.positive_int("k", k)
    if k > n:
        raise ValueError(f"k must be <= n_features={n}, got {k}")
    vals, vecs = np.linalg.eigh(0.5 * (m + m.T))
    order = np.argsort(vals)[::-1]
    vecs = vecs[:, order]
    _, _, vt_m = np.linalg.svd(m)
    _, _, vt_i = np.linalg.svd(np.eye(n) + m)
    return {
        "rank_in": float(r),
        "k": float(k),
        "eig_top": _overlap(q, vecs[:, :k])[0],
        "eig_bottom": _overlap(q, vecs[:, n - k:])[0],
        "svd_mixing": _overlap(q, vt_m[:k].T)[0],
        "svd_identity_plus_mixing": _overlap(q, vt_i[:k].T)[0],
        "random_baseline": float(k) / n,
    }


@one_blas_thread
def one_hot_gain(weights, mixing) -> dict:
    """Per-feature one-hot behaviour.

    self_slope_i = (W_out ReLU(W_in))_ii, the own-output slope for x = t e_i, t > 0 (label 1 + M_ii);
    explained_i = 1 - (c_pos_i + c_neg_i) / (||e_i + M_i||^2 + ||M_i||^2): the share of feature i's
    one-hot label energy the network reproduces (1 exact, 0 for a zero network; M_i the column i).
    Returns mean / sd / min / max of both, the number of features with explained_i > 0.5, and the
    one-hot loss.
    """
    w = _w(weights)
    m = _mixing_for(mixing, w)
    n = m.shape[0]
    pos = np.maximum(w.W_in, 0.0)
    slope = np.einsum("ia,ai->i", w.W_out, pos)
    c_pos, c_neg = one_hot_feature_errors(w, m)
    ipm = np.eye(n) + m
    label = np.sum(ipm * ipm, axis=0) + np.sum(m * m, axis=0)
    expl = 1.0 - (c_pos + c_neg) / label
    return {
        "self_slope_mean": float(slope.mean()), "self_slope_sd": float(slope.std()),
        "self_slope_min": float(slope.min()), "self_slope_max": float(slope.max()),
        "explained_mean": float(expl.mean()), "explained_sd": float(expl.std()),
        "explained_min": float(expl.min()), "explained_max": float(expl.max()),
        "n_explained_half": float(np.sum(expl > 0.5)),
        "one_hot_loss": one_hot_loss(w, m),
    }


@dataclass(frozen=True, eq=False)
class Interference:
    """Two-feature interference I = E_2 - 2 E_1 and its parts.

    total            E_2 - 2 E_1, exact (pair_loss and the one-hot closed form)
    pair             (n, n) exact per-pair interference e_ij - u_i - u_j (u_i = (c_pos_i + c_neg_i)/6 the
                     one-feature error of i at a uniform value), zero diagonal
    by_signs         {"++", "+-", "--"}: the mean interference of a uniform pair conditional on the
                     input signs (same sign positive, opposite, both negative), Monte Carlo; the total is
                     (by_signs["++"] + 2 by_signs["+-"] + by_signs["--"]) / 4
    by_signs_stderr  their standard errors
    by_mixing_sign   {"M>0", "M<0"}: mean exact pair interference over pairs with M_ij + M_ji > 0 / < 0
    n_samples, seed  Monte Carlo set-up
    """

    total: float
    pair: np.ndarray
    by_signs: dict
    by_signs_stderr: dict
    by_mixing_sign: dict
    n_samples: int
    seed: int

    def to_dict(self) -> dict:
        out = {"interference_total": self.total}
        for key, val in self.by_signs.items():
            out[f"interference_{key}"] = val
            out[f"interference_{key}_stderr"] = self.by_signs_stderr[key]
        for key, val in self.by_mixing_sign.items():
            out[f"interference_{key}"] = val
        return out


@one_blas_thread
def interference(weights, mixing, n_samples: int = 1 << 16, seed: int = 0) -> Interference:
    """E_2 - 2 E_1 in total and per pair (exact) and by sign combination (Monte Carlo, `n_samples` per
    combination, from `seed`): see `Interference`."""
    from ..evaluation.stratified import pair_errors

    w = _w(weights)
    m = _mixing_for(mixing, w)
    n = m.shape[0]
    if n < 2:
        raise ValueError("interference needs n_features >= 2")
    n_samples = v.positive_int("n_samples", n_samples, minimum=2)
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    c_pos, c_neg = one_hot_feature_errors(w, m)
    u = (c_pos + c_neg) / 6.0
    e1 = float(u.mean())
    pe = pair_errors(w, m)
    off = ~np.eye(n, dtype=bool)
    total = float(pe[off].mean()) - 2.0 * e1  # E_2: the mean over (ordered) pairs, = stratified.pair_loss
    pair = pe - u[:, None] - u[None, :]
    np.fill_diagonal(pair, 0.0)
    ms = (m + m.T)[off]
    po = pair[off]
    by_m = {
        "M>0": float(po[ms > 0].mean()) if np.any(ms > 0) else float("nan"),
        "M<0": float(po[ms < 0].mean()) if np.any(ms < 0) else float("nan"),
    }
    rng = np.random.default_rng(seed)
    by, se = {}, {}
    for key, (si, sj) in {"++": (1, 1), "+-": (1, -1), "--": (-1, -1)}.items():
        i = rng.integers(0, n, n_samples)
        j = (i + rng.integers(1, n, n_samples)) % n  # j != i, uniform
        s = si * rng.random(n_samples)
        t = sj * rng.random(n_samples)
        h = np.maximum(w.W_in[:, i] * s + w.W_in[:, j] * t, 0.0)  # (d, N)
        eye = np.eye(n)
        y = eye[:, i] * np.maximum(s, 0.0) + eye[:, j] * np.maximum(t, 0.0) + m[:, i] * s + m[:, j] * t
        err = np.sum((w.W_out @ h - y) ** 2, axis=0)
        one = s * s * np.where(s > 0, c_pos[i], c_neg[i]) + t * t * np.where(t > 0, c_pos[j], c_neg[j])
        x = err - one
        by[key] = float(x.mean())
        se[key] = float(x.std(ddof=1) / np.sqrt(n_samples))
    return Interference(float(total), pair, by, se, by_m, n_samples, int(seed))


def neuron_split(weights) -> dict:
    """How each neuron's own-output contributions c[i, a] = W_out[i, a] ReLU(W_in[a, i]) split over
    features i: mean effective number of features per neuron (participation ratio of c[:, a]),
    mean largest share max_i |c[i, a]| / sum_i |c[i, a]|, the share of negative contributions (a neuron
    that lowers a feature's own output) and the number of silent neurons (no positive input weight)."""
    w = _w(weights)
    c = w.W_out * np.maximum(w.W_in.T, 0.0)  # (n, d)
    a = np.abs(c)
    tot = a.sum(axis=0)
    live = tot > 0
    pr = participation_ratio(c, axis=0)
    top = np.where(live, a.max(axis=0) / np.where(live, tot, 1.0), 0.0)
    allc = float(a.sum())
    return {
        "features_per_neuron": float(pr[live].mean()) if np.any(live) else 0.0,
        "top_share": float(top[live].mean()) if np.any(live) else 0.0,
        "negative_share": float(a[c < 0].sum() / allc) if allc > 0 else 0.0,
        "silent_neurons": float(np.sum(~np.any(w.W_in > 0, axis=1))),
    }


def mechanism_summary(weights, mixing, n_samples: int = 1 << 16, seed: int = 0, subspace_k=None) -> dict:
    """Every measurement above as one flat dict of floats (keys prefixed by nothing; see each function)."""
    w = _w(weights)
    out = {}
    out.update(input_sign(w))
    out.update(participation(w))
    out.update(product_fit(w, mixing))
    out.update({f"overlap_{k}": val for k, val in subspace_overlap(w, mixing, subspace_k).items()})
    out.update(one_hot_gain(w, mixing))
    out.update(interference(w, mixing, n_samples=n_samples, seed=seed).to_dict())
    out.update(neuron_split(w))
    return out
