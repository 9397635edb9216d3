"""Diagnostics of a solution, as arrays (plots are in `ccsolve.plots`).

The post's figures (Bhagat et al. 2025, "Compressed Computation is (probably) not Computation in
Superposition") and the function computing each:

  Fig 3  input/output response to one-hot inputs        one_hot_response
  Fig 4  per-feature weight bars split by neuron          feature_weight_bars
  Fig 7  eigen/singular vectors of M (or I + M) against   eigen_alignment
         the neuron directions, and how W_out W_in
         preserves them
  Fig 8  entries of W_out W_in against M                  product_vs_mixing
         per-neuron contribution to each feature          neuron_contributions

Column convention: y_hat = W_out ReLU(W_in x), W_in (n_neurons, n_features), W_out (n_features,
n_neurons). Neuron a reads the direction W_in[a, :] and writes the direction W_out[:, a].
Every `mixing` argument is a ccsolve.Task (its M is used) or the (n_features, n_features) matrix M.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core import validation as v
from ..core.results import Result
from ..core.blas import one_blas_thread
from ..core.task import Task
from ..core.weights import Weights, check_weights

__all__ = [
    "OneHotResponse",
    "FeatureWeightBars",
    "EigenAlignment",
    "ProductVsMixing",
    "NeuronContributions",
    "one_hot_response",
    "feature_weight_bars",
    "eigen_alignment",
    "product_vs_mixing",
    "neuron_contributions",
]


def _mixing_for(mixing, weights: Weights, name: str = "mixing") -> np.ndarray:
    """M from a Task or a matrix, checked against the weights' n_features."""
    if isinstance(mixing, Task):
        m = mixing.mixing
    else:
        m = v.as_matrix(name, mixing)
        if m.shape[0] != m.shape[1]:
            raise ValueError(f"{name} must be square (n_features, n_features), got shape {m.shape}")
    check_weights(weights, m.shape[0])
    return m


# ----------------------------------------------------------------------------------------- Fig 3


@dataclass(frozen=True, eq=False, repr=False)
class OneHotResponse(Result):
    """Response of the network when only feature i is active, at value t.

    values       (n_values,) the input values t
    response     (n_features, n_values) y_hat_i(t e_i): each feature's own output
    label        (n_features, n_values) y_i(t e_i) = ReLU(t) + M_ii t
    slope_pos    (n_features,) d y_hat_i / dt for t > 0, = (W_out ReLU(W_in))_ii
    slope_neg    (n_features,) d y_hat_i / dt for t < 0, = -(W_out ReLU(-W_in))_ii
    full_output  (n_features_in, n_features_out, n_values) y_hat(t e_i) for every output, or None
    full_label   same shape, y(t e_i) = ReLU(t) e_i + M[:, i] t, or None
    """

    values: np.ndarray
    response: np.ndarray
    label: np.ndarray
    slope_pos: np.ndarray
    slope_neg: np.ndarray
    full_output: np.ndarray | None = None
    full_label: np.ndarray | None = None


@one_blas_thread
def one_hot_response(weights: Weights, task, values=None, full: bool = False) -> OneHotResponse:
    """Fig 3: output y_hat_i and label y_i for x = t e_i, for every feature i and every t in `values`.

    `task` is a Task or the mixing matrix M. `values` defaults to np.linspace(-1, 1, 201).
    full=True also returns every output (memory n_features^2 * n_values floats).
    Exact: ReLU is positively homogeneous, y_hat(t e_i) = t (W_out P)_{:, i} for t >= 0 and
    |t| (W_out N)_{:, i} for t < 0, with P = ReLU(W_in), N = ReLU(-W_in).
    """
    m = _mixing_for(task, weights, "task")
    values = np.linspace(-1.0, 1.0, 201) if values is None else v.vector("values", values)
    full = v.boolean("full", full)
    a_pos = weights.W_out @ np.maximum(weights.W_in, 0.0)  # (out, in)
    a_neg = weights.W_out @ np.maximum(-weights.W_in, 0.0)
    t_pos = np.maximum(values, 0.0)
    t_neg = np.maximum(-values, 0.0)
    d_pos, d_neg = np.diag(a_pos).copy(), np.diag(a_neg).copy()
    response = np.outer(d_pos, t_pos) + np.outer(d_neg, t_neg)
    label = t_pos[None, :] + np.outer(np.diag(m), values)
    full_output = full_label = None
    if full:
        # [i, o, t]: input feature i, output o
        full_output = a_pos.T[:, :, None] * t_pos + a_neg.T[:, :, None] * t_neg
        eye = np.eye(m.shape[0])
        full_label = eye[:, :, None] * t_pos + m.T[:, :, None] * values
    return OneHotResponse(values, response, label, d_pos, -d_neg, full_output, full_label)


# ----------------------------------------------------------------------------------------- Fig 4


@dataclass(frozen=True, eq=False, repr=False)
class FeatureWeightBars(Result):
    """Per feature i and neuron a: how neuron a carries feature i to its own output.

    contributions  (n_features, n_neurons) W_out[i, a] * W_in[a, i] (the post's "W_in ⊙ W_out")
    w_in           (n_features, n_neurons) W_in[a, i]: column i of W_in
    w_out          (n_features, n_neurons) W_out[i, a]: row i of W_out
    total          (n_features,) sum over neurons = diag(W_out W_in)
    """

    contributions: np.ndarray
    w_in: np.ndarray
    w_out: np.ndarray
    total: np.ndarray


def feature_weight_bars(weights: Weights) -> FeatureWeightBars:
    """Fig 4: the per-feature, per-neuron products W_out[i, a] W_in[a, i] (stacked bars by neuron)."""
    w = check_weights(weights)
    w_in = w.W_in.T.copy()
    w_out = w.W_out.copy()
    c = w_out * w_in
    return FeatureWeightBars(c, w_in, w_out, c.sum(axis=1))


# ----------------------------------------------------------------------------------------- Fig 7


@dataclass(frozen=True, eq=False, repr=False)
class EigenAlignment(Result):
    """Eigen- or singular vectors of a target matrix A (M or I + M) against the neuron directions.

    which, kind          "mixing" | "identity_plus_mixing", "eig" | "svd"
    values               (n_features,) eigenvalues of (A + A^T)/2 (kind="eig") or singular values of A,
                         in descending order; vector k below belongs to values[k]
    vectors_in           (n_features, n_features) columns: eigenvectors, or right singular vectors V
                         (the input side of A)
    vectors_out          (n_features, n_features) columns: eigenvectors, or left singular vectors U
    cos_in               (n_features, n_neurons) cosine of vectors_in[:, k] with neuron a's read
                         direction W_in[a, :] (signed; 0 for a zero neuron)
    cos_out              (n_features, n_neurons) cosine of vectors_out[:, k] with W_out[:, a]
    max_abs_cos_in/out   (n_features,) max over neurons of |cos|
    top                  size of the leading subspace (default n_neurons)
    in_fraction_top      (n_neurons,) share of ||W_in[a, :]||^2 inside span(vectors_in[:, :top])
    out_fraction_top     (n_neurons,) share of ||W_out[:, a]||^2 inside span(vectors_out[:, :top])
    in_fraction_positive, out_fraction_positive
                         (n_neurons,) the same for the positive-eigenvalue subspace (kind="eig"),
                         None for kind="svd"
    gain                 (n_features,) ||W_out W_in v_k|| for the unit input vector v_k
    rayleigh             (n_features,) u_k^T W_out W_in v_k (u_k = v_k for eig): the value the network
                         assigns where A has values[k]
    preservation_cos     (n_features,) cos(v_k, W_out W_in v_k): how well the direction survives the
                         ReLU-free map (the post's Fig 7b); 0 where W_out W_in v_k is
                         numerically 0 (gain <= 1e-10 max gain)
    target_cos           (n_features,) cos(u_k, W_out W_in v_k) (= preservation_cos for eig)
    n_positive           number of positive values (eig) or of nonzero singular values (svd)
    """

    which: str
    kind: str
    values: np.ndarray
    vectors_in: np.ndarray
    vectors_out: np.ndarray
    cos_in: np.ndarray
    cos_out: np.ndarray
    max_abs_cos_in: np.ndarray
    max_abs_cos_out: np.ndarray
    top: int
    in_fraction_top: np.ndarray
    out_fraction_top: np.ndarray
    in_fraction_positive: np.ndarray | None
    out_fraction_positive: np.ndarray | None
    gain: np.ndarray
    rayleigh: np.ndarray
    preservation_cos: np.ndarray
    target_cos: np.ndarray
    n_positive: int


@one_blas_thread
def eigen_alignment(weights: Weights, mixing, which: str = "mixing", kind: str = "eig",
                    top: int | None = None) -> EigenAlignment:
    """Fig 7: cosine similarity of the eigen/singular vectors of A = M or I + M with neuron directions.

    kind="eig" uses the symmetric part (A + A^T)/2 (exact for symmetric M, as in the reference code);
    kind="svd" uses A = U S V^T: read directions (rows of W_in) are compared with V, write
    directions (columns of W_out) with U. Vectors are sorted by descending value; `top` (default
    n_neurons) sets the leading subspace used by the *_fraction_top shares.
    """
    m = _mixing_for(mixing, weights)
    which = v.choice("which", which, {"mixing", "identity_plus_mixing"})
    kind = v.choice("kind", kind, {"eig", "svd"})
    n, d = m.shape[0], weights.n_neurons
    top = d if top is None else v.positive_int("top", top)
    if top > n:
        raise ValueError(f"top must be <= n_features={n}, got {top}")
    a = m + np.eye(n) if which == "identity_plus_mixing" else m
    if kind == "eig":
        vals, vecs = np.linalg.eigh(0.5 * (a + a.T))
        order = np.argsort(vals)[::-1]
        values, v_in = vals[order], vecs[:, order]
        v_out = v_in
        positive = values > 0
    else:
        u, s, vt = np.linalg.svd(a)
        values, v_in, v_out = s, vt.T, u
        positive = None
    n_positive = int(np.sum(values > 0))

    read = weights.W_in.T  # (n, d): column a is neuron a's read direction
    write = weights.W_out  # (n, d): column a is neuron a's write direction
    cos_in = _cosines(v_in, read)
    cos_out = _cosines(v_out, write)
    # v_in / v_out are orthonormal bases, so squared cosines sum to 1 over k for a nonzero neuron
    sq_in, sq_out = cos_in**2, cos_out**2
    frac_pos_in = sq_in[positive].sum(axis=0) if positive is not None else None
    frac_pos_out = sq_out[positive].sum(axis=0) if positive is not None else None

    prod = weights.W_out @ weights.W_in
    pv = prod @ v_in  # column k: W_out W_in v_k
    gain = np.linalg.norm(pv, axis=0)
    rayleigh = np.einsum("ik,ik->k", v_out, pv)
    # a direction mapped to (numerically) zero has no meaningful cosine: report 0, not rounding noise
    alive = gain > 1e-10 * max(float(gain.max()), 1e-300)
    safe = np.where(alive, gain, 1.0)
    preservation = np.where(alive, np.einsum("ik,ik->k", v_in, pv) / safe, 0.0)
    target = np.where(alive, rayleigh / safe, 0.0)
    return EigenAlignment(
        which, kind, values, v_in, v_out, cos_in, cos_out,
        np.abs(cos_in).max(axis=1), np.abs(cos_out).max(axis=1),
        top, sq_in[:top].sum(axis=0), sq_out[:top].sum(axis=0), frac_pos_in, frac_pos_out,
        gain, rayleigh, preservation, target, n_positive,
    )


def _cosines(basis: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """(k, a) cosine of unit basis[:, k] with directions[:, a]; 0 for a zero direction."""
    norms = np.linalg.norm(directions, axis=0)
    dots = basis.T @ directions
    return np.where(norms > 0, dots / np.where(norms > 0, norms, 1.0), 0.0)


# ----------------------------------------------------------------------------------------- Fig 8


@dataclass(frozen=True, eq=False, repr=False)
class ProductVsMixing(Result):
    """Entries of P = W_out W_in against M (fits of P on M unless marked "reference").

    product                 (n_features, n_features) P
    offdiag_slope           least squares P_ij ≈ s M_ij through the origin, i != j
    offdiag_fit_slope, offdiag_fit_intercept
                            least squares P_ij ≈ s M_ij + c, i != j (nan slope if M_ij is constant)
    offdiag_r               Pearson correlation of P_ij and M_ij, i != j (nan if either is constant)
    diag_slope, diag_intercept
                            least squares P_ii ≈ a M_ii + b (a = nan, b = mean P_ii if M_ii is constant,
                            e.g. the zero-diagonal embedding M)
    diag_r                  Pearson correlation of P_ii and M_ii
    reference_offdiag_slope the reference code's orientation: M_ij ≈ s' P_ij through the origin
    reference_diag_slope, reference_diag_x_intercept
                            the reference legend "y = s'(x - x0)" with y = M_ii, x = P_ii
    """

    product: np.ndarray
    offdiag_slope: float
    offdiag_fit_slope: float
    offdiag_fit_intercept: float
    offdiag_r: float
    diag_slope: float
    diag_intercept: float
    diag_r: float
    reference_offdiag_slope: float
    reference_diag_slope: float
    reference_diag_x_intercept: float

    def to_dict(self) -> dict:
        return {k: float(getattr(self, k)) for k in self.__dataclass_fields__ if k != "product"}


@one_blas_thread
def product_vs_mixing(weights: Weights, mixing) -> ProductVsMixing:
    """Fig 8: W_out W_in against M entry by entry, off-diagonal and diagonal fitted separately.

    The post reports, for a model trained at random sigma = 0.03, an off-diagonal slope of 1.86 and a
    diagonal W_out W_in ≈ 3.38 M_ii + 0.62: compare with offdiag_slope, diag_slope and diag_intercept
    (W_out W_in regressed on M; `python -m ccsolve.figures 8` gives 1.86 and 3.15 M_ii + 0.63,
    docs/reproduction.md). The reference_* fields are the inverse regressions (M on W_out W_in), for
    the other reading of the post's axes; the full-mode run rules that reading out (slope 0.34).
    """
    m = _mixing_for(mixing, weights)
    n = m.shape[0]
    if n < 2:
        raise ValueError("product_vs_mixing needs n_features >= 2 (off-diagonal entries)")
    p = weights.W_out @ weights.W_in
    off = ~np.eye(n, dtype=bool)
    mo, po = m[off], p[off]
    md, pd = np.diag(m), np.diag(p)
    s0 = _slope_origin(mo, po)
    s1, c1, r1 = _linfit(mo, po)
    sd, cd, rd = _linfit(md, pd)
    ref_s0 = _slope_origin(po, mo)
    ref_sd, ref_cd, _ = _linfit(pd, md)
    ref_x0 = -ref_cd / ref_sd if np.isfinite(ref_sd) and ref_sd != 0 else float("nan")
    return ProductVsMixing(p, s0, s1, c1, r1, sd, cd, rd, ref_s0, ref_sd, ref_x0)


def _slope_origin(x: np.ndarray, y: np.ndarray) -> float:
    sxx = float(x @ x)
    return float(x @ y) / sxx if sxx > 0 else float("nan")


def _linfit(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Least-squares y ≈ a x + b and Pearson r; a = r = nan (b = mean y) when x is constant."""
    xm, ym = x.mean(), y.mean()
    dx, dy = x - xm, y - ym
    sxx, syy = float(dx @ dx), float(dy @ dy)
    # relative threshold: entries equal up to rounding count as constant
    if sxx <= 1e-24 * max(1.0, float(x @ x)):
        return float("nan"), float(ym), float("nan")
    a = float(dx @ dy) / sxx
    r = float(dx @ dy) / np.sqrt(sxx * syy) if syy > 0 else float("nan")
    return a, float(ym - a * xm), r


# ------------------------------------------------------------------------ per-neuron contributions


@dataclass(frozen=True, eq=False, repr=False)
class NeuronContributions(Result):
    """What each neuron writes into feature i's own output when only feature i is active.

    positive        (n_features, n_neurons) W_out[i, a] ReLU(W_in[a, i]): input t = +1
    negative        (n_features, n_neurons) W_out[i, a] ReLU(-W_in[a, i]): input t = -1
    label_positive  (n_features,) the target y_i at t = +1: 1 + M_ii
    label_negative  (n_features,) the target y_i at t = -1: -M_ii
    effective_neurons (n_features,) (sum_a |positive[i, a]|)^2 / sum_a positive[i, a]^2: how many
                    neurons share feature i (1 for a dedicated neuron, 0 for an unrepresented feature)
    """

    positive: np.ndarray
    negative: np.ndarray
    label_positive: np.ndarray
    label_negative: np.ndarray
    effective_neurons: np.ndarray


@one_blas_thread
def neuron_contributions(weights: Weights, task) -> NeuronContributions:
    """Per-neuron contribution to each feature's own output for one-hot inputs t = +1 and t = -1.

    Rows sum to y_hat_i(+e_i) and y_hat_i(-e_i); `task` is a Task or the mixing matrix M.
    """
    m = _mixing_for(task, weights, "task")
    w_in_t = weights.W_in.T  # (n, d): W_in[a, i] at [i, a]
    pos = weights.W_out * np.maximum(w_in_t, 0.0)
    neg = weights.W_out * np.maximum(-w_in_t, 0.0)
    l1 = np.abs(pos).sum(axis=1)
    l2 = (pos**2).sum(axis=1)
    eff = np.where(l2 > 0, l1**2 / np.where(l2 > 0, l2, 1.0), 0.0)
    diag = np.diag(m)
    return NeuronContributions(pos, neg, 1.0 + diag, -diag, eff)
