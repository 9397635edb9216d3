"""Weights.from_torch / ccsolve.torch_io without PyTorch: state_dicts of NumPy arrays, datasets'
mixing matrices, error messages, the transposed-weights hint and the missing-extra ImportError."""

import sys

import numpy as np
import pytest

from ccsolve import Task, Weights, loss_per_feature, mixing
from ccsolve import torch_io as tio

N, D = 100, 50


def _row_arrays(seed=0):
    g = np.random.default_rng(seed)
    return g.standard_normal((N, D)).astype(np.float32), g.standard_normal((D, N)).astype(np.float32)


def test_numpy_state_dict_round_trips_exactly_and_computes_the_reference_forward():
    w_in, w_out = _row_arrays()
    w = Weights.from_torch({"w_in": w_in, "w_out": w_out})
    assert (w.n_features, w.n_neurons) == (N, D)
    back = tio.to_state_dict(w)
    assert set(back) == {"w_in", "w_out"}
    assert np.array_equal(back["w_in"], w_in) and np.array_equal(back["w_out"], w_out)
    assert np.array_equal(back["w_in"].astype(np.float32), w_in)  # float32 -> float64 -> float32 exact
    assert Weights.from_torch(back) == w
    # the reference's forward, out = ReLU(x @ w_in) @ w_out on rows, in float64 NumPy
    x = np.random.default_rng(1).uniform(-1, 1, (7, N))
    ref = np.maximum(x @ w_in.astype(np.float64), 0) @ w_out.astype(np.float64)
    np.testing.assert_allclose(w(x.T).T, ref, rtol=1e-12, atol=1e-12)


def test_column_convention_and_custom_keys():
    w_in, w_out = _row_arrays(2)
    w = tio.weights_from_torch({"a": w_in.T, "b": w_out.T}, keys=("a", "b"), convention="column")
    assert w == Weights.from_row_convention(w_in, w_out)


@pytest.mark.parametrize(
    "sd, match",
    [
        ({"W_in": np.zeros((N, D)), "w_out": np.zeros((D, N))}, r"expected a state_dict with exactly the keys \['w_in', 'w_out'\].*missing \['w_in'\].*unexpected \['W_in'\]"),
        ({"w_in": np.zeros((N, D)), "w_out": np.zeros((D, N)), "bias": np.zeros(N)}, r"unexpected \['bias'\]"),
        ({"w_in": np.zeros((N, D)), "w_out": np.zeros((N, D))}, r"expected w_in \(n_features, n_neurons\) and w_out \(n_neurons, n_features\).*\(100, 50\) and w_out \(100, 50\)"),
        ({"w_in": np.zeros(N), "w_out": np.zeros((D, N))}, "w_in must be a 2-D matrix"),
    ],
)
def test_wrong_keys_or_shapes_name_what_was_expected(sd, match):
    with pytest.raises(ValueError, match=match):
        Weights.from_torch(sd)


def test_bad_types():
    with pytest.raises(TypeError, match="state_dict"):
        Weights.from_torch(42)
    with pytest.raises(TypeError, match="keys"):
        Weights.from_torch({"w_in": 1}, keys="w_in")
    with pytest.raises(ValueError, match="convention"):
        Weights.from_torch({}, convention="rows")


def test_n_features_check_says_which_convention_it_looks_like():
    w_in, w_out = _row_arrays(3)
    with pytest.raises(ValueError, match="look like the row convention"):
        tio.weights_from_torch({"w_in": w_in, "w_out": w_out}, convention="column", n_features=N)


def test_row_arrays_given_to_the_constructor_are_reported_as_transposed():
    w_in, w_out = _row_arrays(4)
    w = Weights(w_in, w_out)  # accepted: a 100-neuron, 50-feature model
    assert (w.n_neurons, w.n_features) == (N, D)
    task = Task(mixing.clean(N), D, 0.01)
    with pytest.raises(ValueError, match=r"look transposed.*Weights\.from_row_convention"):
        loss_per_feature(w, task)


class _FakeDataset:
    """Attributes of the reference's NoisyDataset that ccsolve reads."""

    def __init__(self, m, scale, p, one):
        self.M, self.scale, self.p, self.exactly_one_active_feature = m, scale, p, one

    @property
    def Mscaled(self):
        return self.M * abs(self.scale)


def test_mixing_and_task_from_a_dataset():
    m = mixing.random(N, 1.0, seed=5).astype(np.float32)
    ds = _FakeDataset(m, -0.03, 0.01, True)
    got = tio.mixing_from_torch(ds)
    np.testing.assert_allclose(got, 0.03 * m.astype(np.float64), rtol=1e-6)
    assert np.array_equal(tio.mixing_from_torch(ds, scaled=False), m.astype(np.float64))
    assert np.array_equal(tio.mixing_from_torch({"M": m}), m.astype(np.float64))
    assert np.array_equal(mixing.from_torch(ds), got)
    t = tio.task_from_torch(ds, n_neurons=D)
    assert t.one_hot and t.p == 0.01 and t.n_neurons == D
    np.testing.assert_array_equal(t.mixing, got)
    with pytest.raises(ValueError, match="square"):
        tio.mixing_from_torch(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="'M'"):
        tio.mixing_from_torch({"W_E": m})


def test_missing_torch_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    w = Weights.from_torch(dict(zip(("w_in", "w_out"), _row_arrays(6))))
    with pytest.raises(ImportError, match=r"pip install ccsolve\[torch\]"):
        tio.to_torch_state_dict(w)
    with pytest.raises(ImportError, match=r"pip install ccsolve\[torch\]"):
        Weights.from_torch(tmp_path / "model.pt")
