"""Loading the reference's PyTorch models (optional: needs the `torch` extra, skipped without it).

The MLP and dataset classes below copy the layout of the post's paper_code/mlpinsoup.py (attribute
names, shapes, row convention, kaiming_uniform_ init, |scale| as an nn.Parameter); the reference
itself is not importable here (it needs einops, jaxtyping, seaborn).
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="PyTorch not installed (optional extra: pip install ccsolve[torch])")
nn = torch.nn

from ccsolve import Task, Weights, labels, one_hot_loss, sample_inputs
from ccsolve import torch_io as tio

N, D = 100, 50


class RefMLP(nn.Module):
    def __init__(self, n_features=N, d_mlp=D):
        super().__init__()
        self.w_in = nn.Parameter(torch.empty(n_features, d_mlp))
        self.w_out = nn.Parameter(torch.empty(d_mlp, n_features))
        self.relu = nn.ReLU()
        nn.init.kaiming_uniform_(self.w_in)
        nn.init.kaiming_uniform_(self.w_out)

    def forward(self, x):
        return torch.einsum("bd,dm->bm", self.relu(torch.einsum("bf,fd->bd", x, self.w_in)), self.w_out)


class RefResidTransposeDataset:
    """M = W_E W_E^T - I with unit-norm rows, Mscaled = M |scale|, scale an nn.Parameter."""

    def __init__(self, n_features=N, d_embed=1000, p=0.01, seed=0, scale=1.0):
        self.n_features, self.p, self.exactly_one_active_feature = n_features, p, False
        gen = torch.Generator().manual_seed(seed)
        w_e = torch.nn.functional.normalize(torch.randn(n_features, d_embed, generator=gen), dim=1)
        self.W_E = w_e
        self.scale = nn.Parameter(torch.tensor(scale, dtype=torch.float32))

    @property
    def M(self):
        return torch.einsum("id,do->oi", self.W_E, self.W_E.T) - torch.eye(self.n_features)

    @property
    def Mscaled(self):
        return self.M * torch.abs(self.scale)

    def labels(self, x):
        return torch.relu(x) + torch.einsum("oi,bi->bo", self.Mscaled, x)


def _trained_like_model(seed=0):
    torch.manual_seed(seed)
    return RefMLP()


def test_module_state_dict_and_file_load_the_same_weights(tmp_path):
    model = _trained_like_model()
    w = Weights.from_torch(model)
    assert (w.n_features, w.n_neurons) == (N, D)
    np.testing.assert_array_equal(w.W_in, model.w_in.detach().numpy().T.astype(np.float64))
    assert Weights.from_torch(model.state_dict()) == w
    assert Weights.from_torch(dict(model.named_parameters())) == w  # Parameters requiring grad
    torch.save(model.state_dict(), tmp_path / "mlp.pth")
    assert Weights.from_torch(tmp_path / "mlp.pth") == w
    assert Weights.from_torch(str(tmp_path / "mlp.pth")) == w
    torch.save(model, tmp_path / "whole.pt")  # a pickled module: only with weights_only=False
    assert Weights.from_torch(tmp_path / "whole.pt", weights_only=False) == w


def test_round_trip_back_to_the_reference_is_exact():
    model = _trained_like_model(1)
    sd = tio.to_torch_state_dict(Weights.from_torch(model))
    assert set(sd) == {"w_in", "w_out"} and sd["w_in"].dtype == torch.float32
    for k in sd:
        assert torch.equal(sd[k], model.state_dict()[k])
    fresh = RefMLP()
    fresh.load_state_dict(sd)
    x = torch.rand(64, N) * 2 - 1
    assert torch.equal(fresh(x), model(x))
    sd64 = tio.to_torch_state_dict(Weights.from_torch(model), dtype=torch.float64)
    assert sd64["w_out"].dtype == torch.float64


def test_wrong_keys_from_a_module_name_what_was_expected():
    lin = nn.Linear(N, D, bias=True)
    with pytest.raises(ValueError, match=r"exactly the keys \['w_in', 'w_out'\].*\['weight', 'bias'\]"):
        Weights.from_torch(lin)


def test_dataset_mixing_requiring_grad_loads_as_its_labels_use_it():
    ds = RefResidTransposeDataset(scale=0.7)
    assert ds.Mscaled.requires_grad
    m = tio.mixing_from_torch(ds)
    np.testing.assert_array_equal(m, ds.Mscaled.detach().double().numpy())
    assert m.shape == (N, N) and np.allclose(m, m.T, atol=1e-6)
    task = tio.task_from_torch(ds)
    x = torch.rand(32, N) * 2 - 1
    np.testing.assert_allclose(labels(task, x.double().numpy().T).T, ds.labels(x).detach().numpy(),
                               atol=2e-6)


def test_ccsolve_loss_equals_a_torch_forward_pass():
    model = _trained_like_model(2)
    ds = RefResidTransposeDataset(scale=0.5, seed=3)
    w = Weights.from_torch(model)
    task = tio.task_from_torch(ds, n_neurons=D)
    # 1) the same Bernoulli inputs: ccsolve L/p vs the reference's ((out - labels)^2).mean() / p
    x = sample_inputs(task, 20_000, seed=4)
    e = w(x) - labels(task, x)
    ccsolve_lp = float(np.sum(e**2) / (x.shape[1] * N * task.p))
    xt = torch.tensor(x.T, dtype=torch.float32)
    with torch.no_grad():
        torch_lp = float(((model(xt) - ds.labels(xt)) ** 2).mean() / ds.p)
    assert ccsolve_lp == pytest.approx(torch_lp, abs=1e-6)
    # 2) the exact one-hot loss: errors are linear in the value v of the one active feature, so
    #    E||e||^2 = mean_i (1/6)(||f(e_i) - y(e_i)||^2 + ||f(-e_i) - y(-e_i)||^2), from 2n forward passes
    eye = torch.eye(N, dtype=torch.float64)
    m64 = model.double()
    with torch.no_grad():
        mt = torch.tensor(task.mixing)
        pos = ((m64(eye) - (eye + eye @ mt.T)) ** 2).sum(1)
        neg = ((m64(-eye) - (-eye @ mt.T)) ** 2).sum(1)
    torch_one_hot = float((pos + neg).mean() / 6)
    assert one_hot_loss(w, task.mixing) == pytest.approx(torch_one_hot, abs=1e-6)


def test_task_one_hot_flag_follows_the_dataset():
    ds = RefResidTransposeDataset()
    ds.exactly_one_active_feature = True
    assert tio.task_from_torch(ds).one_hot
    assert isinstance(tio.task_from_torch(ds), Task)
