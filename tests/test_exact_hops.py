"""minimize_exact(hops=...): monotonic basin hopping after the runs (issue 13, p = 0.001 follow-up)."""

import numpy as np
import pytest

import ccsolve
from ccsolve.constructions import minimize_exact
from ccsolve.optimize.exact import ExactObjective


def _task(p=0.05):
    return ccsolve.Task(ccsolve.mixing.embedding(12, 120, seed=1), 6, p)


KW = {"init": "svd", "maxiter": 10, "n_tail_samples": 1200, "evaluate": False, "seed": 3}


def test_hops_never_raise_the_objective_and_report_the_kept_weights():
    task = _task()
    base = minimize_exact(task, hops=0, **KW)
    res = minimize_exact(task, hops=4, hop_maxiter=6, **KW)
    log = res.details["hops"]
    assert len(log) == 4 and base.details["hops"] == ()
    # hops start from the no-hop result (same seeding of tail, inits and runs) ...
    assert log[0]["start_objective"] == pytest.approx(base.objective, rel=1e-12)
    # ... keep a hop only if it lowers F, and each next hop starts from the best so far
    best = base.objective
    for h in log:
        assert h["start_objective"] == pytest.approx(best, rel=1e-12)
        assert h["kept"] == (h["objective"] < best)
        best = min(best, h["objective"])
        assert 0 < h["n_iter"] <= 6
    assert res.objective == pytest.approx(best, rel=1e-12)
    assert res.objective <= base.objective
    # the reported objective is F of the returned weights (independent objective on the same samples)
    obj = ExactObjective(task, n_tail_samples=1200, seed=np.random.SeedSequence(3).spawn(3)[0])
    assert res.objective == pytest.approx(obj.value(res.weights), rel=1e-12)


def test_hops_off_is_the_previous_result():
    # the hop draws come from a fourth child of the seed: tail, init and evaluation streams are unchanged
    task = _task()
    a = minimize_exact(task, hops=0, **KW)
    b = minimize_exact(task, hops=0, **KW)
    np.testing.assert_array_equal(a.weights.W_in, b.weights.W_in)
    obj = ExactObjective(task, n_tail_samples=1200, seed=np.random.SeedSequence(3).spawn(3)[0])
    assert a.objective == pytest.approx(obj.value(a.weights), rel=1e-12)


def test_hops_same_seed_same_result_at_1_and_2_threads():
    import numba

    old = numba.get_num_threads()
    out = []
    try:
        for t in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(t)
            out.append(minimize_exact(_task(), hops=2, hop_maxiter=4, **KW))
    finally:
        numba.set_num_threads(old)
    np.testing.assert_array_equal(out[0].weights.W_in, out[1].weights.W_in)
    np.testing.assert_array_equal(out[0].weights.W_out, out[1].weights.W_out)
    assert out[0].details["hops"] == out[1].details["hops"]


def test_default_hops_depend_on_p():
    m = ccsolve.mixing.embedding(12, 120, seed=1)
    tiny = minimize_exact(ccsolve.Task(m, 6, 0.001), maxiter=2, n_tail_samples=600, evaluate=False,
                          hop_maxiter=2)
    assert len(tiny.details["hops"]) == 4
    small = minimize_exact(ccsolve.Task(m, 6, 0.004), maxiter=2, n_tail_samples=600, evaluate=False,
                           hop_maxiter=2)
    assert len(small.details["hops"]) == 4
    mid = minimize_exact(ccsolve.Task(m, 6, 0.01), maxiter=2, n_tail_samples=600, evaluate=False)
    assert mid.details["hops"] == ()


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"hops": -1}, ValueError, "hops"), ({"hops": 1.5}, TypeError, "hops"), ({"hops": True}, TypeError, "hops"),
    ({"hop_scale": 0.0}, ValueError, "hop_scale"), ({"hop_scale": "big"}, TypeError, "hop_scale"),
    ({"hop_maxiter": 0}, ValueError, "hop_maxiter"), ({"hop_maxiter": 2.5}, TypeError, "hop_maxiter"),
    ({"hops": 1, "projected": False}, ValueError, "hops"),
])
def test_hop_validation(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        minimize_exact(_task(), maxiter=1, evaluate=False, **kwargs)


def test_progress_bar_counts_hops_and_is_quiet_on_request(capsys):
    minimize_exact(_task(), hops=2, hop_maxiter=2, progress=True, **KW)
    err = capsys.readouterr().err
    assert "minimize_exact" in err and "/3" in err  # one init + two hops
    minimize_exact(_task(), hops=2, hop_maxiter=2, progress=False, **KW)
    assert capsys.readouterr().err == ""
