"""Parity with the peers' model layout (spd's ResidualMLP, experiments/resid_mlp): a torch module built
the way spd builds it (W_E (n_features, d_embed), W_U = W_E^T, layers.i.mlp_in / mlp_out bias-free
nn.Linear, residual stream) computes the same outputs as ccsolve.residual, and its state_dict loads.

Optional: torch is not a ccsolve dependency (run in a venv that has it, e.g. /work/venv-torch)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is optional (the peers' layout parity test)")
nn = torch.nn

import ccsolve.residual as R  # noqa: E402


class SpdLikeResidMLP(nn.Module):
    """spd's layout: resid = x @ W_E; per layer resid = resid + mlp_out(relu(mlp_in(resid))); out = resid @ W_U."""

    def __init__(self, n_features, d_embed, d_mlp):
        super().__init__()
        self.W_E = nn.Parameter(torch.empty(n_features, d_embed, dtype=torch.float64))
        self.W_U = nn.Parameter(torch.empty(d_embed, n_features, dtype=torch.float64))
        self.layers = nn.ModuleList()
        for d in d_mlp:
            block = nn.Module()
            block.mlp_in = nn.Linear(d_embed, d, bias=False, dtype=torch.float64)
            block.mlp_out = nn.Linear(d, d_embed, bias=False, dtype=torch.float64)
            self.layers.append(block)

    def forward(self, x):
        resid = x @ self.W_E
        for block in self.layers:
            resid = resid + block.mlp_out(torch.relu(block.mlp_in(resid)))
        return resid @ self.W_U


@pytest.mark.parametrize("d_mlp", [[7], [5, 4], [3, 4, 2]])
def test_forward_equals_ccsolve(d_mlp):
    torch.manual_seed(0)
    n, d_embed = 11, 30
    task = R.ResidualTask(n_features=n, d_embed=d_embed, n_layers=len(d_mlp), d_mlp=d_mlp, p=0.2, seed=4)
    model = SpdLikeResidMLP(n, d_embed, d_mlp)
    with torch.no_grad():
        model.W_E.copy_(torch.from_numpy(task.embedding.T.copy()))  # ccsolve's E = W_E^T
        model.W_U.copy_(torch.from_numpy(task.embedding.copy()))  # W_U = W_E^T = E
    w = R.ResidualWeights.from_spd_state_dict(model.state_dict())  # tensors, spd's key names
    assert w.d_mlp == tuple(d_mlp)
    for l, block in enumerate(model.layers):
        assert np.array_equal(w.W_in[l], block.mlp_in.weight.detach().numpy())
        assert np.array_equal(w.W_out[l], block.mlp_out.weight.detach().numpy())
    x = task.sample_inputs(200, seed=1)  # (n, samples): column convention
    x[:, :10] = np.random.default_rng(2).uniform(-1, 1, (n, 10))  # a few dense inputs too
    with torch.no_grad():
        ref = model(torch.from_numpy(x.T.copy())).numpy().T
    assert np.allclose(w(x, task), ref, rtol=0, atol=1e-6)
    assert np.max(np.abs(w(x, task) - ref)) < 1e-12  # same float64 algebra
    # and the loss: torch's MSE against spd's labels relu(x) + x equals ccsolve's Monte Carlo integrand
    labels = np.maximum(x, 0) + x
    assert np.allclose(task.labels(x), labels)


def test_state_dict_with_zero_biases_loads_and_nonzero_biases_are_refused():
    model = SpdLikeResidMLP(5, 8, [3])
    sd = dict(model.state_dict())
    sd["layers.0.mlp_in.bias"] = torch.zeros(3, dtype=torch.float64)
    w = R.ResidualWeights.from_spd_state_dict(sd)
    assert w.W_in[0].shape == (3, 8) and w.W_out[0].shape == (8, 3)
    sd["layers.0.mlp_in.bias"] = torch.ones(3, dtype=torch.float64)
    with pytest.raises(ValueError, match="bias"):
        R.ResidualWeights.from_spd_state_dict(sd)
