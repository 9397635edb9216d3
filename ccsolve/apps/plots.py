"""Matplotlib figures for loss curves, comparison tables and the diagnostics of `ccsolve.analysis`.

Every function builds a `matplotlib.figure.Figure` on an Agg canvas (no pyplot, so no global state,
no GUI, nothing to close) and returns it. With `path`, the PNG is also written atomically
(ccsolve._io.atomic_write_bytes) at `dpi` (default 100, small files). Titles and labels come from the
task's config (sizes, p, a summary of M), never from constants.
"""

from __future__ import annotations

import io
import os

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from ..core import validation as v
from .. import analysis
from ..bounds import lower_bound as lower_bound_at
from ..core.io import atomic_write_bytes
from ..evaluation.closed_forms import naive_loss, one_hot_lower_bound
from ..core.task import Task, check_task
from ..core.weights import check_weights

__all__ = [
    "task_label",
    "mixing_label",
    "plot_loss_curves",
    "plot_bars",
    "plot_one_hot_response",
    "plot_feature_weight_bars",
    "plot_eigen_alignment",
    "plot_product_vs_mixing",
]

DPI = 100


# ------------------------------------------------------------------------------------------ labels


def mixing_label(task: Task) -> str:
    """Short description of M from task.config()['mixing'] (ccsolve.mixing.describe)."""
    d = check_task(task).config()["mixing"]
    if d["frobenius_norm"] == 0:
        return "clean labels (M = 0)"
    parts = [f"M: off-diag std {d['offdiag_std']:.3g}"]
    if d["diag_std"] == 0 and d["trace"] == 0:
        parts.append("zero diagonal")
    else:
        parts.append(f"diag std {d['diag_std']:.3g}")
    if d["symmetric"]:
        parts.append(f"symmetric, {d['n_positive_eigenvalues']} positive eigenvalues")
    else:
        parts.append("asymmetric")
    return ", ".join(parts)


def task_label(task: Task, with_p: bool = True) -> str:
    """'n_features=100, n_neurons=50, p=0.01' (or 'one-hot inputs') from task.config()."""
    c = check_task(task).config()
    s = f"n_features={c['n_features']}, n_neurons={c['n_neurons']}"
    if with_p:
        s += ", one-hot inputs" if c["one_hot"] else f", p={c['p']:g}"
    return s


def _title(kind: str, task: Task, name: str | None) -> str:
    head = f"{kind}: {name}" if name else kind
    return f"{head}\n{task_label(task)}\n{mixing_label(task)}"


# ------------------------------------------------------------------------------------------ output


def new_figure(figsize) -> Figure:
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, path, dpi) -> Figure:
    if path is not None:
        dpi = v.positive("dpi", dpi)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
        atomic_write_bytes(os.fspath(path), buf.getvalue())
    return fig


def _line_value(name: str, value, default) -> float | None:
    """None -> default(); False -> omitted; a number -> itself."""
    if value is False:
        return None
    if value is None:
        return float(default())
    return v.real(name, value)


# ------------------------------------------------------------------------------------- loss curves


def plot_loss_curves(curves: dict, task: Task, *, naive=None, lower_bound=None, path=None, title=None,
                     logy: bool = False, z: float = 2.0, dpi: float = DPI, bound_curve: bool = True) -> Figure:
    """L/p against the evaluation p (log x-axis), one line per solution, shaded ± z standard errors.

    curves       {name: (ps, values, stderrs)}; stderrs may be None (exact curves)
    task         the task the curves were computed on (labels, title, default reference lines)
    naive        horizontal naive line: None = closed-form naive_loss(task) (p-independent; 1/12 on
                 clean labels), a number, or False to omit
    lower_bound  one-hot (p -> 0) Eckart-Young bound: None = one_hot_lower_bound(task), a number, or
                 False to omit
    bound_curve  also draw ccsolve.bounds.lower_bound at every p of the curves (certified at each p;
                 Bernoulli tasks only)
    """
    task = check_task(task)
    if not isinstance(curves, dict) or not curves:
        raise ValueError("curves must be a non-empty dict {name: (ps, values, stderrs)}")
    z = v.non_negative("z", z)
    naive = _line_value("naive", naive, lambda: naive_loss(task))
    lower_bound = _line_value("lower_bound", lower_bound, lambda: one_hot_lower_bound(task))
    fig = new_figure((7.5, 4.8))
    ax = fig.add_subplot()
    cmap = colormaps["tab10"]
    for k, (name, curve) in enumerate(curves.items()):
        ps, vals, ses = _curve(str(name), curve)
        color = cmap(k % 10)
        ax.plot(ps, vals, color=color, label=str(name), marker="." if ps.size < 40 else None)
        if ses is not None and z > 0 and np.any(ses > 0):
            ax.fill_between(ps, vals - z * ses, vals + z * ses, color=color, alpha=0.2, lw=0)
    if v.boolean("bound_curve", bound_curve) and not task.one_hot:
        all_ps = np.unique(np.concatenate([_curve(str(n), c)[0] for n, c in curves.items()]))
        all_ps = all_ps[(all_ps > 0) & (all_ps <= 1)]
        if all_ps.size:
            grid = np.geomspace(all_ps[0], all_ps[-1], 40) if all_ps.size > 1 else all_ps
            ax.plot(grid, [lower_bound_at(task.with_p(float(p))).value for p in grid], color="0.2", ls="-.",
                    lw=1, label="certified lower bound at p (ccsolve.bounds)")
    if naive is not None:
        ax.axhline(naive, color="k", ls="--", lw=1, label=f"naive (closed form) = {naive:.4f}")
    if lower_bound is not None:
        ax.axhline(lower_bound, color="0.4", ls=":", lw=1.2,
                   label=f"one-hot lower bound (p→0) = {lower_bound:.4f}")
    if not task.one_hot:
        ax.axvline(task.p, color="0.7", lw=0.8, zorder=0, label=f"task p = {task.p:g}")
    ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("evaluation feature probability p")
    ax.set_ylabel(f"loss per feature L/p (band: ±{z:g} s.e.)" if z > 0 else "loss per feature L/p")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.suptitle(title or _title("Loss per feature vs p", task, None), fontsize=9)
    return save_figure(fig, path, dpi)


def _curve(name, curve):
    try:
        ps, vals, ses = curve
    except (TypeError, ValueError):
        raise ValueError(f"curves[{name!r}] must be a tuple (ps, values, stderrs)") from None
    ps = v.vector(f"curves[{name!r}] ps", ps)
    vals = v.vector(f"curves[{name!r}] values", vals)
    if vals.shape != ps.shape:
        raise ValueError(f"curves[{name!r}]: values has shape {vals.shape} but ps has {ps.shape}")
    if np.any(ps <= 0):
        raise ValueError(f"curves[{name!r}]: ps must be > 0 (log axis)")
    if ses is not None:
        ses = v.vector(f"curves[{name!r}] stderrs", ses)
        if ses.shape != ps.shape:
            raise ValueError(f"curves[{name!r}]: stderrs has shape {ses.shape} but ps has {ps.shape}")
    order = np.argsort(ps)
    return ps[order], vals[order], None if ses is None else ses[order]


# -------------------------------------------------------------------------------------------- bars


def plot_bars(rows, task: Task | None = None, *, naive=None, lower_bound=False, path=None, title=None,
              value_label: str = "L/p", z: float = 2.0, dpi: float = DPI) -> Figure:
    """Horizontal bar chart of a comparison table, error bars ± z standard errors.

    rows         iterable of (name, value, stderr) tuples, dicts with those keys, or objects with
                 those attributes (stderr may be None)
    task         used for the title and the default naive line; None = no task information
    naive        vertical naive line: None = closed-form naive_loss(task) if a task is given, a
                 number, or False to omit
    lower_bound  False (default) to omit, or a number (the one-hot bound holds only as p -> 0)
    """
    parsed = [_row(r) for r in rows]
    if not parsed:
        raise ValueError("rows must contain at least one (name, value, stderr) row")
    if task is not None:
        task = check_task(task)
    z = v.non_negative("z", z)
    if naive is None and task is None:
        naive = False
    naive = _line_value("naive", naive, lambda: naive_loss(task))
    lower_bound = _line_value("lower_bound", lower_bound, lambda: one_hot_lower_bound(task))
    names = [r[0] for r in parsed]
    vals = np.array([r[1] for r in parsed])
    ses = np.array([r[2] for r in parsed])
    fig = new_figure((7.5, 1.2 + 0.42 * len(parsed)))
    ax = fig.add_subplot()
    y = np.arange(len(parsed))[::-1]
    colors = [colormaps["tab10"](k % 10) for k in range(len(parsed))]
    ax.barh(y, vals, xerr=z * ses if z > 0 else None, color=colors, alpha=0.85, capsize=3)
    for yi, val, se in zip(y, vals, ses):
        ax.annotate(f"{val:.4f}" + (f" ± {se:.1g}" if se > 0 else ""), (val + z * se, yi),
                    xytext=(4, 0), textcoords="offset points", va="center", fontsize=7)
    ax.set_yticks(y, names, fontsize=8)
    if naive is not None:
        ax.axvline(naive, color="k", ls="--", lw=1, label=f"naive (closed form) = {naive:.4f}")
    if lower_bound is not None:
        ax.axvline(lower_bound, color="0.4", ls=":", lw=1.2,
                   label=f"one-hot lower bound (p→0) = {lower_bound:.4f}")
    lo = min(vals.min(), naive if naive is not None else np.inf, lower_bound or np.inf)
    hi = max((vals + z * ses).max(), naive if naive is not None else -np.inf)
    pad = 0.15 * (hi - min(lo, 0.0)) + 1e-12
    ax.set_xlim(min(0.0, lo), hi + pad)
    ax.set_xlabel(f"{value_label}" + (f" (error bars ±{z:g} s.e.)" if z > 0 else ""))
    ax.grid(True, axis="x", alpha=0.3)
    if naive is not None or lower_bound is not None:
        fig.legend(fontsize=7, loc="outside lower center", ncols=2)  # never over the bar labels
    if title is None:
        title = "Comparison of solutions" if task is None else _title("Comparison of solutions", task, None)
    fig.suptitle(title, fontsize=9)
    return save_figure(fig, path, dpi)


def _row(r):
    if isinstance(r, dict):
        name, val, se = r.get("name"), r.get("value", r.get("loss_per_feature")), r.get("stderr")
    elif hasattr(r, "name") and hasattr(r, "value"):
        name, val, se = r.name, r.value, getattr(r, "stderr", None)
    else:
        try:
            name, val, se = r
        except (TypeError, ValueError):
            raise ValueError(f"each row must be (name, value, stderr), got {r!r}") from None
    val = v.real(f"value of row {name!r}", val)
    se = 0.0 if se is None else v.non_negative(f"stderr of row {name!r}", se)
    return str(name), val, se


# ------------------------------------------------------------------------------------ diagnostics


def plot_one_hot_response(weights, task: Task, *, name: str | None = None, values=None, path=None,
                          title=None, dpi: float = DPI) -> Figure:
    """Fig 3: y_hat_i(t e_i) for every feature (colour = feature index) with the ideal ReLU(t), and
    the heat map of every output for t = +1 (input feature i on x, output o on y)."""
    task = check_task(task)
    check_weights(weights, task.n_features)
    r = analysis.one_hot_response(weights, task, values)
    n = task.n_features
    fig = new_figure((11, 4.5))
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.1, 1])
    cmap = colormaps["viridis"]
    for i in range(n):
        ax1.plot(r.values, r.response[i], color=cmap(i / max(n - 1, 1)), lw=0.8, alpha=0.8)
    ax1.plot(r.values, np.maximum(r.values, 0.0), color="tab:red", ls="--", lw=1.5, label="ReLU(t)")
    ax1.set_xlabel("input value t (only feature i active)")
    ax1.set_ylabel("own output ŷ_i(t e_i)")
    ax1.grid(True, alpha=0.3)
    ax1.legend(fontsize=8, loc="upper left")
    fig.colorbar(_mappable(cmap, 0, n - 1), ax=ax1, label="feature index i")
    out = weights.W_out @ np.maximum(weights.W_in, 0.0)  # output o for input e_i, t = +1: [o, i]
    vmax = max(float(np.abs(out).max()), 1e-12)
    im = ax2.imshow(out, cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="auto", interpolation="nearest")
    ax2.set_xlabel("input feature i (t = +1)")
    ax2.set_ylabel("output o")
    fig.colorbar(im, ax=ax2, label="ŷ_o(e_i)")
    fig.suptitle(title or _title("One-hot input/output response", task, name), fontsize=9)
    return save_figure(fig, path, dpi)


def plot_feature_weight_bars(weights, task: Task, *, name: str | None = None, path=None, title=None,
                             dpi: float = DPI) -> Figure:
    """Fig 4: per feature, W_out[i, a] W_in[a, i] stacked by neuron a (positive parts up, negative down)."""
    task = check_task(task)
    check_weights(weights, task.n_features)
    b = analysis.feature_weight_bars(weights)
    n, d = b.contributions.shape
    fig = new_figure((11, 4.2))
    ax = fig.add_subplot()
    # inferno without its near-white end, so that every neuron stays visible
    cmap = ListedColormap(colormaps["inferno"](np.linspace(0.0, 0.9, max(d, 2))))
    x = np.arange(n)
    # one PolyCollection instead of n_neurons bar() calls: thousands of Rectangle patches are slow
    c = b.contributions
    pos, neg = np.maximum(c, 0.0), np.minimum(c, 0.0)
    for part in (pos, neg):
        top = np.cumsum(part, axis=1)
        i_idx, a_idx = np.nonzero(part)
        if i_idx.size == 0:
            continue
        y1 = top[i_idx, a_idx]
        y0 = y1 - part[i_idx, a_idx]
        xl, xr = i_idx - 0.42, i_idx + 0.42
        polys = np.stack([np.stack([xl, y0], 1), np.stack([xr, y0], 1),
                          np.stack([xr, y1], 1), np.stack([xl, y1], 1)], axis=1)
        colors = cmap(a_idx / max(d - 1, 1))
        ax.add_collection(PolyCollection(polys, facecolors=colors, linewidths=0))
    lo, hi = min(neg.sum(axis=1).min(), 0.0), max(pos.sum(axis=1).max(), 1.0)
    ax.set_ylim(lo - 0.05 * (hi - lo), hi + 0.1 * (hi - lo))
    ax.plot(x, b.total, "k.", ms=3, label="sum over neurons = (W_out W_in)_ii")
    ax.axhline(1.0, color="tab:red", ls="--", lw=0.8, label="1 (one dedicated neuron)")
    ax.set_xlabel("feature index i")
    ax.set_ylabel("W_out[i, a] · W_in[a, i], stacked by neuron a")
    ax.set_xlim(-0.6, n - 0.4)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    fig.colorbar(_mappable(cmap, 0, max(d - 1, 1)), ax=ax, label="neuron index a")
    fig.suptitle(title or _title("Per-feature weights split by neuron", task, name),
                 fontsize=9)
    return save_figure(fig, path, dpi)


def plot_eigen_alignment(weights, task: Task, *, which: str = "mixing", kind: str = "eig",
                         name: str | None = None, top: int | None = None, path=None, title=None,
                         dpi: float = DPI) -> Figure:
    """Fig 7: |cos| of each eigen/singular vector (x, descending value) with each neuron's read and
    write direction (y), and how W_out W_in preserves each vector (cos(v, W_out W_in v), gain)."""
    task = check_task(task)
    e = analysis.eigen_alignment(weights, task, which=which, kind=kind, top=top)
    target = "M" if which == "mixing" else "I + M"
    vec = "eigenvector" if kind == "eig" else "singular vector"
    fig = new_figure((13, 4.3))
    ax1, ax2, ax3 = fig.subplots(1, 3)
    for ax, cos, label, frac in (
        (ax1, e.cos_in, "read W_in[a, :]" + (" vs V" if kind == "svd" else ""), e.in_fraction_top),
        (ax2, e.cos_out, "write W_out[:, a]" + (" vs U" if kind == "svd" else ""), e.out_fraction_top),
    ):
        im = ax.imshow(np.abs(cos).T, cmap="magma", vmin=0, vmax=1, aspect="auto",
                       interpolation="nearest")
        ax.axvline(e.top - 0.5, color="c", lw=0.8)
        ax.set_xlabel(f"{vec} k of {target} (descending)")
        ax.set_ylabel("neuron a")
        ax.set_title(f"|cos| with {label}\nmean share in top {e.top}: {frac.mean():.3f}", fontsize=8)
    fig.colorbar(im, ax=ax2, label="|cosine|")
    k = np.arange(e.values.size)
    ax3.plot(k, e.preservation_cos, color="tab:orange", label="cos(v_k, W_out W_in v_k)")
    if kind == "svd":
        ax3.plot(k, e.target_cos, color="tab:blue", lw=0.8, label="cos(u_k, W_out W_in v_k)")
    ax3.plot(k, e.gain, color="tab:green", lw=0.8, label="gain ‖W_out W_in v_k‖")
    ax3.axvline(e.top - 0.5, color="c", lw=0.8, label=f"top {e.top}")
    if kind == "eig":
        ax3.axvline(e.n_positive - 0.5, color="0.5", ls=":", lw=0.8,
                    label=f"{e.n_positive} positive eigenvalues")
    lo = min(0.0, e.preservation_cos.min(), e.target_cos.min())
    hi = max(1.0, e.gain.max())
    ax3.set_ylim(lo - 0.05, hi + 0.05)  # keep 0 and 1 in view: cosines are compared against them
    ax3.set_xlabel(f"{vec} k of {target} (descending)")
    ax3.grid(True, alpha=0.3)
    ax3.legend(fontsize=7, loc="lower left")
    ax3.set_title("preserved by the ReLU-free map W_out W_in", fontsize=8)
    fig.suptitle(title or _title(f"Neuron directions vs {vec}s of {target}", task, name),
                 fontsize=9)
    return save_figure(fig, path, dpi)


def plot_product_vs_mixing(weights, task: Task, *, name: str | None = None, path=None, title=None,
                           dpi: float = DPI) -> Figure:
    """Fig 8: entries of W_out W_in against M (off-diagonal and diagonal, with their fits), and the
    weight matrices W_in and W_out^T."""
    task = check_task(task)
    f = analysis.product_vs_mixing(weights, task)
    m, p = task.mixing, f.product
    n = task.n_features
    off = ~np.eye(n, dtype=bool)
    fig = new_figure((13, 4.3))
    ax1, ax2, ax3 = fig.subplots(1, 3, width_ratios=[1.2, 1, 1])
    ax1.scatter(m[off], p[off], s=3, alpha=0.35, lw=0, color="tab:blue", label="off-diagonal")
    ax1.scatter(np.diag(m), np.diag(p), s=9, alpha=0.8, lw=0, color="tab:orange", label="diagonal")
    xs = np.linspace(m.min(), m.max(), 2) if m.max() > m.min() else np.array([-1e-3, 1e-3])
    if np.isfinite(f.offdiag_slope):
        ax1.plot(xs, f.offdiag_slope * xs, color="tab:red", lw=1,
                 label=f"off-diag: {f.offdiag_slope:.3g}·M (r = {f.offdiag_r:.3f})")
    if np.isfinite(f.diag_slope):
        ax1.plot(xs, f.diag_slope * xs + f.diag_intercept, color="tab:green", lw=1,
                 label=f"diag: {f.diag_slope:.3g}·M_ii + {f.diag_intercept:.3g}")
    else:
        ax1.axhline(f.diag_intercept, color="tab:green", lw=1,
                    label=f"diag: mean {f.diag_intercept:.3g} (M_ii constant)")
    ax1.set_xlabel("M_ij")
    ax1.set_ylabel("(W_out W_in)_ij")
    ax1.grid(True, alpha=0.3)
    ax1.legend(fontsize=7, loc="best")
    for ax, w, label in ((ax2, weights.W_in, "W_in (neuron × feature)"),
                         (ax3, weights.W_out.T, "W_outᵀ (neuron × feature)")):
        vmax = max(float(np.abs(w).max()), 1e-12)
        im = ax.imshow(w, cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="auto", interpolation="nearest")
        ax.set_title(label, fontsize=8)
        ax.set_xlabel("feature")
        ax.set_ylabel("neuron")
        fig.colorbar(im, ax=ax)
    fig.suptitle(title or _title("W_out W_in against M", task, name), fontsize=9)
    return save_figure(fig, path, dpi)


def _mappable(cmap, lo, hi):
    from matplotlib.cm import ScalarMappable

    sm = ScalarMappable(norm=Normalize(vmin=lo, vmax=hi), cmap=cmap)
    sm.set_array([])
    return sm
