import numpy as np
import pytest

import ccsolve as cc


def test_task_is_immutable_and_copies():
    m = cc.mixing.random(5, 0.1, seed=0)
    t = cc.Task(m, 3, 0.2)
    m[0, 0] = 99.0
    assert t.mixing[0, 0] != 99.0
    with pytest.raises(ValueError):
        t.mixing[0, 0] = 1.0
    with pytest.raises(AttributeError):
        t.p = 0.5
    assert t.n_features == 5
    assert t == cc.Task(t.mixing, 3, 0.2) and hash(t) == hash(cc.Task(t.mixing, 3, 0.2))
    assert t.with_p(0.5).p == 0.5 and t.as_one_hot().one_hot


@pytest.mark.parametrize(
    "args, kwargs, exc, match",
    [
        ((np.zeros((3, 4)),), {}, ValueError, "square"),
        ((np.zeros(3),), {}, ValueError, "2-D"),
        ((np.full((3, 3), np.nan),), {}, ValueError, "NaN"),
        ((np.full((3, 3), np.inf),), {}, ValueError, "NaN or inf"),
        ((np.zeros((3, 3)),), dict(p=0.0), ValueError, "p must be in"),
        ((np.zeros((3, 3)),), dict(p=1.5), ValueError, "p must be in"),
        ((np.zeros((3, 3)),), dict(p=float("nan")), ValueError, "p"),
        ((np.zeros((3, 3)),), dict(n_neurons=0), ValueError, "n_neurons"),
        ((np.zeros((3, 3)),), dict(n_neurons=2.0), TypeError, "n_neurons"),
        (("abc",), {}, TypeError, "mixing"),
        ((np.zeros((3, 3)),), dict(one_hot="yes"), TypeError, "one_hot"),
    ],
)
def test_task_bad_input(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        cc.Task(*args, **kwargs)


def test_sample_inputs_statistics():
    t = cc.Task(cc.mixing.clean(50), 10, 0.2)
    x = cc.sample_inputs(t, 20_000, seed=1)
    assert x.shape == (50, 20_000)
    active = x != 0
    se = np.sqrt(0.2 * 0.8 / active.size)
    assert abs(active.mean() - 0.2) < 4 * se
    vals = x[active]
    assert vals.min() >= -1 and vals.max() <= 1
    assert abs(vals.mean()) < 4 * np.sqrt(1 / 3 / vals.size)
    assert np.array_equal(x, cc.sample_inputs(t, 20_000, seed=1))
    oh = cc.sample_inputs(t.as_one_hot(), 1000, seed=2)
    assert np.all((oh != 0).sum(axis=0) == 1)


def test_labels():
    m = cc.mixing.random(4, 0.5, seed=2)
    t = cc.Task(m, 2, 0.5)
    x = np.array([1.0, -2.0, 0.0, 0.5])
    assert np.allclose(cc.labels(t, x), np.maximum(x, 0) + m @ x)
    with pytest.raises(ValueError, match="x must have shape"):
        cc.labels(t, np.zeros(5))
    with pytest.raises(ValueError, match="NaN"):
        cc.labels(t, np.full(4, np.nan))


def test_weights_shapes_and_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    w = cc.Weights(rng.normal(size=(3, 5)), rng.normal(size=(5, 3)))
    assert (w.n_neurons, w.n_features) == (3, 5)
    x = rng.normal(size=(5, 7))
    assert np.allclose(w(x), w.W_out @ np.maximum(w.W_in @ x, 0))
    path = tmp_path / "w.npz"
    w.save(path, note="hello")
    assert cc.Weights.load(path) == w
    meta = cc.Weights.load_metadata(path)
    assert meta["note"] == "hello" and meta["ccsolve_version"] == cc.__version__
    w_in_rows, w_out_rows = w.to_row_convention()
    assert w_in_rows.shape == (5, 3)
    assert cc.Weights.from_row_convention(w_in_rows, w_out_rows) == w
    # the row convention computes the same function
    xr = x.T
    assert np.allclose(np.maximum(xr @ w_in_rows, 0) @ w_out_rows, w(x).T)


@pytest.mark.parametrize(
    "w_in, w_out, exc, match",
    [
        (np.zeros((3, 5)), np.zeros((3, 5)), ValueError, "W_out must have shape"),
        (np.zeros(5), np.zeros((5, 3)), ValueError, "W_in must be a 2-D"),
        (np.full((3, 5), np.nan), np.zeros((5, 3)), ValueError, "W_in contains NaN"),
        (np.zeros((3, 5)), np.full((5, 3), np.inf), ValueError, "W_out contains NaN or inf"),
        (None, np.zeros((5, 3)), TypeError, "W_in"),
    ],
)
def test_weights_bad_input(w_in, w_out, exc, match):
    with pytest.raises(exc, match=match):
        cc.Weights(w_in, w_out)


def test_closed_form_bad_input():
    t = cc.Task(cc.mixing.clean(5), 2, 0.1)
    with pytest.raises(ValueError, match="offset"):
        cc.naive_offset_loss(t, float("inf"))
    with pytest.raises(ValueError, match="mixing"):
        cc.one_hot_lower_bound(np.zeros((3, 4)), 2)
    with pytest.raises(ValueError, match="n_neurons"):
        cc.one_hot_lower_bound(np.zeros((3, 3)), 0)
    with pytest.raises(ValueError, match="n_features"):
        cc.one_hot_loss(cc.Weights(np.zeros((2, 4)), np.zeros((4, 2))), np.zeros((5, 5)))
    with pytest.raises(ValueError, match="features"):
        cc.naive_loss(t, features=[0, 0])
    with pytest.raises(ValueError, match="features"):
        cc.naive_loss(t, features=[0, 1, 2])
