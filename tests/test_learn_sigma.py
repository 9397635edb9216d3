"""train(learn_sigma=True) on the embedding mixing: the scale it learns and the sign of its updates.

Zero weights are a fixed point of the weights (h = ReLU(0) = 0 gives zero gradients, and AdamW's
decay of 0 is 0), so the model output stays 0 and the loss in sigma is the quadratic
    E||ReLU(x) + sigma G x||^2,
minimised at sigma* = -E<Gx, ReLU(x)> / E||Gx||^2 = -tr(G) / (2 ||G||_F^2) for Bernoulli and one-hot
inputs alike (E[v ReLU(v)] = 1/6, E[v^2] = 1/3 for v ~ U[-1, 1]; cross terms vanish). For the
embedding M = W_E W_E^T - I (zero diagonal) sigma* = 0; for G = W_E W_E^T it is -1/(2(1 + |M|^2/n)).
"""

import numpy as np
import pytest

from ccsolve import Task, Weights, mixing, train

N, D = 100, 50
ZERO = Weights(np.zeros((D, N)), np.zeros((N, D)))
M = mixing.embedding(N, 1000, seed=0)


def _fit(task, sigma_init, steps=200, lr=0.01, weight_decay=0.0, **kw):
    return train(task, steps=steps, batch_size=2048, lr=lr, weight_decay=weight_decay, init=ZERO,
                 learn_sigma=True, mixing_base="task", sigma_init=sigma_init, seed=1, progress=False, **kw)


@pytest.mark.parametrize("one_hot, p", [(True, 0.01), (False, 0.05)])
def test_learns_the_closed_form_scale_of_the_embedding_with_its_diagonal(one_hot, p):
    g = M + np.eye(N)  # W_E W_E^T
    star = -np.trace(g) / (2 * np.sum(g**2))
    assert -0.47 < star < -0.44
    res = _fit(Task(g, D, p, one_hot=one_hot), 0.0)
    assert np.all(res.weights.W_in == 0) and np.all(res.weights.W_out == 0)  # the fixed point held
    # measured error 2e-4 (one-hot) and 1e-5 (Bernoulli); 1e-3 is 0.2% of sigma*
    assert res.sigma == pytest.approx(star, abs=1e-3)
    np.testing.assert_allclose(res.task.mixing, res.sigma * g)


def test_embedding_scale_goes_to_zero_and_first_steps_have_the_right_sign():
    task = Task(M, D, 0.01, one_hot=True)
    res = _fit(task, 0.05)
    assert abs(res.sigma) < 1e-3  # sigma* = 0: the labels' M x only adds error to a zero output
    lr, wd = 0.01, 0.01
    for s0 in (0.05, -0.05):
        # one AdamW step: decay, then lr * g / (|g| + eps). The trained loss is the reference's
        # mean over features, so g = 2 sigma E||Mx||^2 / n = 2 sigma ||M||_F^2 / (3 n^2) (population
        # value; the batch's differs by a few %), of the sign of s0; eps = 1e-8 takes 3e-4 of the step.
        g = 2 * abs(s0) * np.sum(M**2) / (3 * N**2)
        one = _fit(task, s0, steps=1, lr=lr, weight_decay=wd, record_every=1)
        assert one.sigma == pytest.approx(s0 * (1 - lr * wd) - lr * np.sign(s0) * g / (g + 1e-8), abs=5e-7)
        assert (one.sigma - s0) * s0 < 0  # towards sigma* = 0


def test_default_base_reports_the_rms_scale():
    task = Task(0.3 * M, D, 0.01, one_hot=True)
    res = train(task, steps=1, batch_size=256, learn_sigma=True, sigma_init=0.02, init=ZERO, progress=False)
    rms = np.sqrt(np.mean((0.3 * M) ** 2))
    np.testing.assert_allclose(res.task.mixing, res.sigma * 0.3 * M / rms)
    with pytest.raises(ValueError, match="mixing_base"):
        train(task, steps=1, learn_sigma=True, mixing_base="rms", progress=False)
