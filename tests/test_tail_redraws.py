"""minimize_exact(tail_redraws=...): L-BFGS segments on fresh tail draws (issue 13, small-p follow-up)."""

import numpy as np
import pytest

import ccsolve
from ccsolve.constructions import minimize_exact
from ccsolve.optimize.exact import ExactObjective


def _task(p=0.1):
    return ccsolve.Task(ccsolve.mixing.embedding(12, 120, seed=1), 6, p)


def test_redraws_report_the_last_draw_and_descend():
    task, seed, r, nts = _task(), 4, 2, 1500
    res = minimize_exact(task, init="svd", maxiter=18, n_tail_samples=nts, tail_redraws=r, evaluate=False, seed=seed)
    # the documented seeding: tail seed = SeedSequence(seed).spawn(3)[0]; draws = its r children
    tail_ss = np.random.SeedSequence(seed).spawn(3)[0]
    first = ExactObjective(task, n_tail_samples=nts, seed=tail_ss)
    last = ExactObjective(task, n_tail_samples=nts, seed=tail_ss.spawn(r)[-1])
    assert res.objective == pytest.approx(last.value(res.weights), rel=1e-12)
    # a different sample: the first draw gives a different value at the same weights
    assert abs(first.value(res.weights) - res.objective) > 1e-9
    assert res.objective < res.runs[0]["start_objective"]
    assert 0 < res.n_iter <= 18
    # no redraws: the fixed first sample, as before
    res0 = minimize_exact(task, init="svd", maxiter=18, n_tail_samples=nts, evaluate=False, seed=seed)
    assert res0.objective == pytest.approx(first.value(res0.weights), rel=1e-12)


def test_redraws_same_seed_same_result():
    kw = dict(init="svd", maxiter=8, n_tail_samples=1000, tail_redraws=1, evaluate=False, seed=2)
    a, b = minimize_exact(_task(), **kw), minimize_exact(_task(), **kw)
    np.testing.assert_array_equal(a.weights.W_in, b.weights.W_in)


@pytest.mark.parametrize("kwargs, exc", [({"tail_redraws": -1}, ValueError), ({"tail_redraws": 1.5}, TypeError),
                                         ({"tail_redraws": 1, "projected": False}, ValueError)])
def test_redraws_validation(kwargs, exc):
    with pytest.raises(exc, match="tail_redraws"):
        minimize_exact(_task(), maxiter=1, evaluate=False, **kwargs)


def test_continuation_init_starts_from_the_p001_solution():
    task, seed = _task(p=0.003), 1
    res = minimize_exact(task, init="continuation", maxiter=5, n_tail_samples=1000, evaluate=False, seed=seed)
    stage = minimize_exact(task.with_p(0.01), evaluate=False, seed=seed)  # the documented first stage
    obj = ExactObjective(task, n_tail_samples=1000, seed=np.random.SeedSequence(seed).spawn(3)[0])
    assert res.runs[0]["init"] == "continuation"
    assert res.runs[0]["start_objective"] == pytest.approx(obj.value(stage.weights), rel=1e-12)
    assert res.objective <= res.runs[0]["start_objective"]


def test_auto_defaults_depend_on_p():
    m = ccsolve.mixing.embedding(12, 120, seed=1)
    oh = minimize_exact(ccsolve.Task(m, 6, 0.01, one_hot=True), evaluate=False)
    assert oh.init == "one_hot"
    # one-hot: minimize_one_hot's basin, so E_1 at least as low as minimize_one_hot's own result
    assert oh.objective <= ccsolve.constructions.minimize_one_hot(ccsolve.Task(m, 6, 0.01, one_hot=True), seed=0).objective + 1e-12
    assert oh.objective == pytest.approx(ccsolve.one_hot_loss(oh.weights, m), rel=1e-12)
    small = minimize_exact(ccsolve.Task(m, 6, 0.004), maxiter=2, evaluate=False)
    assert small.init == "continuation" and sum(small.tail_counts) >= 1 << 15
    large = minimize_exact(ccsolve.Task(m, 6, 0.03), maxiter=2, evaluate=False)
    assert large.init == "snmf" and sum(large.tail_counts) >= 1 << 17
    mid = minimize_exact(ccsolve.Task(m, 6, 0.01), maxiter=2, evaluate=False)
    assert mid.init == "snmf" and (1 << 15) <= sum(mid.tail_counts) < 1 << 16


def test_one_hot_continuation_init_and_tiny_p_default():
    task, seed = _task(p=0.001), 2
    res = minimize_exact(task, maxiter=5, n_tail_samples=1000, evaluate=False, seed=seed)
    assert res.init == "one_hot_continuation"
    # documented first stage: the default call at p = 0.005 from init "one_hot"
    stage = minimize_exact(task.with_p(0.005), init="one_hot", evaluate=False, seed=seed)
    obj = ExactObjective(task, n_tail_samples=1000, seed=np.random.SeedSequence(seed).spawn(3)[0])
    assert res.runs[0]["start_objective"] == pytest.approx(obj.value(stage.weights), rel=1e-12)
    assert res.objective <= res.runs[0]["start_objective"]
