"""The fused projected evaluation of minimize_exact (issue 13) against the previous kernels (oracle:
ExactObjective.readout + value_and_grad, i.e. pairs.pair_blocks and tail.tail_blocks), against finite
differences, and its thread independence."""

import numpy as np
import pytest

import ccsolve
from ccsolve.core.blas import single_threaded_blas
from ccsolve.optimize._fast import ProjectedEvaluator
from ccsolve.constructions import minimize_exact
from ccsolve.optimize.exact import ExactObjective
from ccsolve.evaluation.stratified import _pairs_index, _Products
from ccsolve.core.weights import Weights

N, D = 14, 7


def _task(p=0.15, seed=1):
    m = 0.1 * np.random.default_rng(seed).standard_normal((N, N))
    return ccsolve.Task(m, D, p)


def _w_in(seed=2):
    return np.random.default_rng(seed).standard_normal((D, N))


@pytest.mark.parametrize("p", [0.15, 0.02, "one_hot"])
def test_fused_evaluation_matches_the_previous_kernels(p):
    task = ccsolve.Task(_task().mixing, D, 0.15, one_hot=True) if p == "one_hot" else _task(p)
    obj = ExactObjective(task, n_tail_samples=2000, seed=3)
    if p == 0.15:
        assert obj.ks.size >= 3  # the tail is exercised
    ev = ProjectedEvaluator(obj)
    w_in = _w_in()
    with single_threaded_blas():
        w_out_old = obj.readout(w_in)
        f_old, g_old, _ = obj._value_and_grad(Weights(w_in, w_out_old))
        f, g, w_out = ev(w_in)
    np.testing.assert_allclose(w_out, w_out_old, rtol=1e-10, atol=1e-12)
    assert abs(f - f_old) <= 1e-12 * abs(f_old)
    np.testing.assert_allclose(g, g_old, rtol=1e-9, atol=1e-12)


def test_split_pair_kernel_matches_pair_blocks():
    from ccsolve._kernels.pairs import pair_blocks
    from ccsolve._kernels.pairs_split import pair_split_blocks

    task = _task()
    rng = np.random.default_rng(5)
    w = Weights(_w_in(), 0.5 * rng.standard_normal((N, D)))
    prod = _Products(w, task.mixing)
    arrays = prod.pair_arrays()
    i, j, blocks = _pairs_index(N)
    vals, gh, ap, bm, gwin = pair_blocks(*arrays, i, j, blocks, True)
    w_in_t, gram, cw_pos, cw_neg = arrays[:4]
    v2, _, _, _, gw2 = pair_split_blocks(w_in_t, gram, cw_pos, cw_neg, i, j, blocks, False, True)
    _, gh2, ap2, bm2, _ = pair_split_blocks(w_in_t, gram, cw_pos, cw_neg, i, j, blocks, True, False)
    ev = ProjectedEvaluator(ExactObjective(task, tail="ignore"))
    # the split kernel leaves out the label constant, which the evaluator adds once
    assert abs(np.sum(v2) + ev.pair_const - np.sum(vals)) <= 1e-12 * abs(np.sum(vals))
    for new, old in ((gw2, gwin), (gh2, gh), (ap2, ap), (bm2, bm)):
        np.testing.assert_allclose(new.sum(axis=0), old.sum(axis=0), rtol=1e-10, atol=1e-12)


def test_projected_gradient_against_central_differences():
    # F*(W_in) = min_W_out F: its gradient (Danskin) is the partial gradient at the optimal readout
    obj = ExactObjective(_task(), n_tail_samples=2000, seed=3)
    ev = ProjectedEvaluator(obj)
    w_in = _w_in()
    with single_threaded_blas():
        _, g, _ = ev(w_in)
        h = 1e-6
        for a, b in [(0, 0), (3, 5), (6, 13), (2, 9)]:
            wp, wm = w_in.copy(), w_in.copy()
            wp[a, b] += h
            wm[a, b] -= h
            fd = (ev(wp)[0] - ev(wm)[0]) / (2 * h)
            assert abs(fd - g[a, b]) <= 1e-5 * max(1.0, abs(fd)), (a, b, fd, g[a, b])


def test_same_seed_same_result_at_1_and_2_threads():
    import numba

    task = _task()
    old = numba.get_num_threads()
    out = []
    try:
        for t in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(t)
            r = minimize_exact(task, init="svd", maxiter=8, n_tail_samples=3000, evaluate=False)
            out.append(r)
    finally:
        numba.set_num_threads(old)
    np.testing.assert_array_equal(out[0].weights.W_in, out[1].weights.W_in)
    np.testing.assert_array_equal(out[0].weights.W_out, out[1].weights.W_out)
    assert out[0].objective == out[1].objective


def test_fused_and_previous_paths_agree():
    task = _task()
    kw = dict(init="svd", maxiter=6, n_tail_samples=2000, evaluate=False)
    a = minimize_exact(task, fused=True, **kw)
    b = minimize_exact(task, fused=False, **kw)
    assert abs(a.objective - b.objective) <= 1e-9 * abs(b.objective)
    np.testing.assert_allclose(a.weights.W_in, b.weights.W_in, rtol=1e-6, atol=1e-8)


def test_fused_must_be_bool():
    with pytest.raises(TypeError, match="fused"):
        minimize_exact(_task(), fused="yes", maxiter=1, evaluate=False)
