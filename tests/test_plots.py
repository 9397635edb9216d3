"""ccsolve.plots: valid PNGs written atomically, titles and reference lines from the task."""

import os
from types import SimpleNamespace

import matplotlib.image as mpimg
import numpy as np
import pytest
from matplotlib.figure import Figure

import ccsolve as cc
from ccsolve import plots
from ccsolve.constructions import naive

N, D, P = 20, 10, 0.05
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def task():
    return cc.Task(cc.mixing.random(N, 0.05, seed=1, symmetric=True), D, P)


@pytest.fixture(scope="module")
def weights():
    g = np.random.default_rng(0)
    return cc.Weights(g.normal(size=(D, N)), g.normal(size=(N, D)) / 3)


def _check_png(path):
    raw = open(path, "rb").read()
    assert raw[:8] == PNG_SIGNATURE
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[2] in (3, 4)
    assert img.shape[0] > 100 and img.shape[1] > 200
    assert len(raw) < 400_000  # small files for docs/
    # not blank: more than one colour
    assert np.ptp(img[..., :3]) > 0.5
    return img


def _title(fig):
    return fig.get_suptitle() if hasattr(fig, "get_suptitle") else fig._suptitle.get_text()


def _check_title(fig, task, name=None):
    t = _title(fig)
    assert f"p={task.p:g}" in t
    assert f"n_features={task.n_features}" in t and f"n_neurons={task.n_neurons}" in t
    if name:
        assert name in t


def _lines(fig, prefix):
    return [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_label().startswith(prefix)]


@pytest.mark.parametrize(
    "func, kwargs",
    [
        (plots.plot_one_hot_response, {}),
        (plots.plot_feature_weight_bars, {}),
        (plots.plot_eigen_alignment, {}),
        (plots.plot_eigen_alignment, {"which": "identity_plus_mixing", "kind": "svd"}),
        (plots.plot_product_vs_mixing, {}),
    ],
)
def test_diagnostic_plots_write_valid_png(func, kwargs, task, weights, tmp_path):
    path = tmp_path / "sub" / "fig.png"  # missing directory is created
    fig = func(weights, task, name="my model", path=path, **kwargs)
    assert isinstance(fig, Figure)
    _check_png(path)
    _check_title(fig, task, "my model")
    assert os.listdir(tmp_path / "sub") == ["fig.png"]  # no temporary file left behind


def test_diagnostic_plots_without_path_write_nothing(task, weights, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for func in (plots.plot_one_hot_response, plots.plot_feature_weight_bars, plots.plot_eigen_alignment,
                 plots.plot_product_vs_mixing):
        assert isinstance(func(weights, task), Figure)
    assert os.listdir(tmp_path) == []


def test_weight_bars_stack_to_the_diagonal(task, tmp_path):
    """Naive: the stacked bars of represented features reach exactly 1, the others 0."""
    fig = plots.plot_feature_weight_bars(naive(task), task)
    (dots,) = _lines(fig, "sum over neurons")
    np.testing.assert_array_equal(dots.get_ydata(), np.r_[np.ones(D), np.zeros(N - D)])


def test_one_hot_response_plot_draws_every_feature(task, weights):
    fig = plots.plot_one_hot_response(naive(task), task)
    ax = fig.axes[0]
    curves = [ln for ln in ax.get_lines() if not ln.get_label().startswith("ReLU")]
    assert len(curves) == N
    t = curves[0].get_xdata()
    np.testing.assert_allclose(curves[0].get_ydata(), np.maximum(t, 0))  # naive feature 0: ReLU
    np.testing.assert_array_equal(curves[-1].get_ydata(), 0.0)  # unrepresented feature


def test_loss_curves_reference_lines_clean_task(tmp_path):
    """Clean labels: naive L/p = 1/12 at every p and the one-hot lower bound is 1/12 too."""
    clean = cc.Task(np.zeros((N, N)), D, P)
    ps = np.logspace(-3, 0, 7)
    curves = {"a": (ps, np.full(7, 0.09), np.full(7, 1e-3)), "b": (ps[::-1], np.linspace(0.1, 0.05, 7), None)}
    path = tmp_path / "curves.png"
    fig = plots.plot_loss_curves(curves, clean, path=path)
    _check_png(path)
    _check_title(fig, clean)
    assert "M = 0" in _title(fig)
    (naive_line,) = _lines(fig, "naive")
    (bound_line,) = _lines(fig, "one-hot lower bound")
    np.testing.assert_allclose(naive_line.get_ydata(), 1 / 12, rtol=1e-12)
    np.testing.assert_allclose(bound_line.get_ydata(), 1 / 12, rtol=1e-12)
    (b_line,) = _lines(fig, "b")
    assert np.all(np.diff(b_line.get_xdata()) > 0)  # sorted by p
    assert fig.axes[0].get_xscale() == "log"


def test_loss_curves_explicit_and_omitted_lines(task):
    ps = np.logspace(-2, 0, 5)
    fig = plots.plot_loss_curves({"x": (ps, np.full(5, 0.07), None)}, task, naive=False, lower_bound=0.0555)
    assert _lines(fig, "naive") == []
    (bound_line,) = _lines(fig, "one-hot lower bound")
    np.testing.assert_array_equal(bound_line.get_ydata(), 0.0555)
    # the default naive line is the closed form for this task
    fig = plots.plot_loss_curves({"x": (ps, np.full(5, 0.07), None)}, task, lower_bound=False)
    (naive_line,) = _lines(fig, "naive")
    np.testing.assert_allclose(naive_line.get_ydata(), cc.naive_loss(task), rtol=1e-12)


@pytest.mark.parametrize(
    "curves, match",
    [
        ({}, "non-empty"),
        ({"x": ([0.1, 0.2], [0.1])}, "tuple"),
        ({"x": ([0.1, 0.2], [0.1], None)}, "shape"),
        ({"x": ([0.0, 0.2], [0.1, 0.1], None)}, "ps must be > 0"),
        ({"x": ([0.1, 0.2], [0.1, np.nan], None)}, "NaN"),
        ({"x": ([0.1, 0.2], [0.1, 0.1], [0.1])}, "stderrs"),
    ],
)
def test_loss_curves_validation(curves, match, task):
    with pytest.raises(ValueError, match=match):
        plots.plot_loss_curves(curves, task)


def test_bars_png_and_row_formats(task, tmp_path):
    rows = [("naive", 0.116, 0.0), {"name": "SVD", "value": 0.09, "stderr": 1e-3},
            SimpleNamespace(name="trained", value=0.065, stderr=None)]
    path = tmp_path / "bars.png"
    fig = plots.plot_bars(rows, task, path=path)
    _check_png(path)
    _check_title(fig, task)
    ax = fig.axes[0]
    labels = {t.get_text() for t in ax.get_yticklabels()}
    assert labels == {"naive", "SVD", "trained"}
    bars = [p for p in ax.patches if p.get_width() > 0]
    np.testing.assert_allclose([p.get_width() for p in bars], [0.116, 0.09, 0.065])  # table order
    ys = [p.get_y() for p in bars]
    assert ys == sorted(ys, reverse=True)  # first row on top
    (naive_line,) = _lines(fig, "naive")
    np.testing.assert_allclose(naive_line.get_xdata(), cc.naive_loss(task), rtol=1e-12)
    # without a task: no naive line, generic title
    fig = plots.plot_bars(rows)
    assert _lines(fig, "naive") == [] and "n_features" not in _title(fig)


def test_bars_validation(task):
    with pytest.raises(ValueError, match="at least one"):
        plots.plot_bars([], task)
    with pytest.raises(ValueError, match="stderr"):
        plots.plot_bars([("a", 0.1, -1.0)], task)
    with pytest.raises(ValueError, match="row"):
        plots.plot_bars([("a", 0.1)], task)


def test_mixing_label_from_config():
    emb = cc.Task(cc.mixing.embedding(N, 200, seed=0), D, P)
    n_pos = int(np.sum(np.linalg.eigvalsh(emb.mixing) > 0))
    label = plots.mixing_label(emb)
    assert "zero diagonal" in label and f"{n_pos} positive eigenvalues" in label
    asym = cc.Task(cc.mixing.random(N, 0.03, seed=0), D, P)
    assert "asymmetric" in plots.mixing_label(asym)
    assert plots.task_label(asym.as_one_hot()) == f"n_features={N}, n_neurons={D}, one-hot inputs"


@pytest.mark.parametrize("func", [plots.plot_one_hot_response, plots.plot_feature_weight_bars,
                                  plots.plot_eigen_alignment, plots.plot_product_vs_mixing])
def test_diagnostic_plots_validate_input(func, task, weights):
    with pytest.raises(TypeError, match="weights"):
        func((weights.W_in, weights.W_out), task)
    with pytest.raises(TypeError, match="task"):
        func(weights, task.mixing)
    with pytest.raises(ValueError, match="n_features"):
        func(cc.Weights(np.ones((D, N + 1)), np.ones((N + 1, D))), task)


def test_loss_curve_plot_draws_the_bound_at_every_p_below_each_curve():
    from ccsolve import bounds

    task = cc.Task(cc.mixing.random(20, 0.03, seed=0), 10, 0.05)
    ps = np.array([0.01, 0.1, 1.0])
    vals = np.array([float(cc.naive_loss(task.with_p(float(p)))) for p in ps])
    fig = plots.plot_loss_curves({"naive": (ps, vals, None)}, task)
    line = next(ln for ln in fig.axes[0].get_lines() if "certified" in str(ln.get_label()))
    xs, ys = line.get_data()
    assert xs[0] == pytest.approx(0.01) and xs[-1] == pytest.approx(1.0)
    for x, y in zip(xs, ys):
        assert y == pytest.approx(bounds.subspace_bound(task.with_p(float(x))).value, rel=1e-12)
        assert y <= float(cc.naive_loss(task.with_p(float(x)))) + 1e-12  # a bound is below naive everywhere
