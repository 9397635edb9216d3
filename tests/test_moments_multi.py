"""Several p on one lattice (issue 16): the kernel two_dim_multi against two_dim_fast per p, the grouped
evaluation moments._loss_group against single points and tight references, and its retry."""

import numpy as np
import pytest

import ccsolve as cc
import ccsolve.evaluation.moments as mm
from ccsolve._kernels import moments as km
from ccsolve._kernels.moments import one_dim_multi
from ccsolve._kernels.moments_multi import two_dim_multi


@pytest.mark.parametrize("kmin", [2, 3])
def test_two_dim_multi_is_two_dim_fast_per_p(kmin):
    """Every slice of two_dim_multi equals two_dim_fast at that p, box and threshold on the shared lattice
    (different boxes and thresholds per p; a coordinate both neurons ignore takes the guarded factor)."""
    rng = np.random.default_rng(3)
    n, d = 9, 4
    w = rng.normal(size=(d, n)) * 0.6
    w[:, 4] = 0.0  # alpha_i = 0 at coordinate 4 for every pair: the guarded loop
    t = 0.8 * np.abs(w).sum(axis=1)
    c = 2.0 / t
    ps = np.array([0.05, 0.12, 0.3])
    k_max = np.array([[40, 35, 44, 30], [28, 30, 25, 33], [18, 22, 20, 16]], dtype=np.int64)
    thr = np.array([1e-9, 3e-8, 1e-7])
    tc, ts = km.trig_tables(w, t, int(k_max.max()))
    ia, ib = (x.astype(np.int64) for x in np.triu_indices(d, 1))
    multi = two_dim_multi(w, ps, c, t, k_max, ia, ib, tc, ts, kmin, thr)
    assert multi.shape == (3, ia.size, 4)
    for u in range(3):
        one = km.two_dim_fast(w, float(ps[u]), c, t, k_max[u].copy(), ia, ib, tc, ts, kmin, float(thr[u]))
        assert np.array_equal(multi[u, :, 2], one[:, 2])  # the same region, node for node
        np.testing.assert_allclose(multi[u][:, [0, 1, 3]], one[:, [0, 1, 3]], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("k_tab", [3, 80])
def test_two_dim_multi_edge_cases(k_tab):
    """Very unequal boxes (some 0), one p, pairs with a > b, and tables narrower (the unpadded row) or much
    wider than the boxes: still two_dim_fast per p."""
    rng = np.random.default_rng(9)
    n, d = 7, 4
    w = rng.normal(size=(d, n)) * 0.5
    t = 0.9 * np.abs(w).sum(axis=1)
    c = 2.0 / t
    tc, ts = km.trig_tables(w, t, k_tab)
    pa = np.array([0, 2, 3, 1], dtype=np.int64)
    pb = np.array([1, 0, 1, 3], dtype=np.int64)
    k_all = np.array([[60, 50, 2, 0], [1, 3, 70, 40], [0, 0, 0, 1]], dtype=np.int64)
    for ps, k_max, thr in ((np.array([0.1, 0.3, 0.6]), np.minimum(k_all, k_tab), np.array([1e-9, 1e-2, 1e-6])),
                           (np.array([0.2]), np.minimum(k_all[:1], k_tab), np.array([1e-8]))):
        multi = two_dim_multi(w, ps, c, t, k_max, pa, pb, tc, ts, 3, thr)
        for u in range(ps.size):
            one = km.two_dim_fast(w, float(ps[u]), c, t, k_max[u].copy(), pa, pb, tc, ts, 3, float(thr[u]))
            assert np.array_equal(multi[u, :, 2], one[:, 2])
            np.testing.assert_allclose(multi[u][:, [0, 1, 3]], one[:, [0, 1, 3]], rtol=1e-12, atol=1e-15)


def test_curve_groups():
    """curve._groups: consecutive p, at most AUTO_CURVE_GROUP_RATIO x the first and AUTO_CURVE_GROUP_MAX
    points, a new group where the low strata change."""
    from ccsolve.evaluation import curve as cv

    ps = np.geomspace(0.021, 1.0, 60)
    groups = cv._groups(ps, list(range(ps.size)), 100, 1e-6)
    assert [i for g in groups for i in g] == list(range(ps.size))
    for g in groups:
        assert len(g) <= cv.AUTO_CURVE_GROUP_MAX
        assert ps[g[-1]] <= cv.AUTO_CURVE_GROUP_RATIO * ps[g[0]]
        assert len({mm._kmin(float(ps[i]), 100, 1e-6, "auto") for i in g}) == 1
    for g, h in zip(groups, groups[1:]):  # each group is as long as the rules allow
        full = len(g) == cv.AUTO_CURVE_GROUP_MAX
        far = ps[h[0]] > cv.AUTO_CURVE_GROUP_RATIO * ps[g[0]]
        kmin_changes = mm._kmin(float(ps[h[0]]), 100, 1e-6, "auto") != mm._kmin(float(ps[g[0]]), 100, 1e-6, "auto")
        assert full or far or kmin_changes


def test_curve_cost_cap_inside_a_group(monkeypatch):
    """A group refused by the cost cap is redone point by point: the points under the cap by the moments,
    the other by the stratified run; every value within its error of a tight moments_loss (4 SE for the
    stratified point)."""
    from ccsolve.evaluation import curve as cv

    rng = np.random.default_rng(8)
    n, d = 24, 6
    w = cc.Weights(rng.normal(size=(d, n)) * 0.4, rng.normal(size=(n, d)) * 0.3)
    task = cc.Task(rng.normal(size=(n, n)) * 0.05, d, 0.5)
    ps = [0.03, 0.04, 0.06]
    boxes = [mm.moments_loss(w, cc.Task(task.mixing, d, p), tol=1e-5).details["factor_evals_2d_box"] for p in ps]
    big = int(np.argmax(boxes))
    assert len(set(boxes)) == 3

    def refused(*args, **kwargs):
        raise mm.CostCapExceeded("the group's 2-D sums exceed the cap")

    monkeypatch.setattr(mm, "_loss_group", refused)
    monkeypatch.setattr(cv, "AUTO_CURVE_MAX_EVALS", (sorted(boxes)[1] + sorted(boxes)[2]) / 2)
    c = cc.loss_curve(w, task, ps, tol=1e-5, method="auto", seed=3)
    assert c.methods == tuple("stratified" if i == big else "moments" for i in range(3))
    for i, p in enumerate(ps):
        ref = mm.moments_loss(w, cc.Task(task.mixing, d, p), tol=1e-7)
        assert abs(c.values[i] - ref.value) <= 4 * c.stderrs[i] + ref.error
    assert np.all(c.point_seconds > 0)


@pytest.mark.parametrize("kmin", [2, 3])
def test_one_dim_multi_is_one_dim_fast_per_p(kmin):
    """Every output of one_dim_multi, per p, equals one_dim_fast (its one-p case; against the direct kernel
    one_dim in tests/test_moments.py) at that p on the shared lattice: the p do not mix."""
    rng = np.random.default_rng(4)
    n, d = 9, 4
    w = rng.normal(size=(d, n)) * 0.6
    w[1, 3] = 0.0  # a zero weight: the z = 0 branch of the factor
    t = 0.8 * np.abs(w).sum(axis=1)
    c = 2.0 / t
    ps = np.array([0.04, 0.2, 0.7])
    k = np.array([40, 31, 44, 36], dtype=np.int64)
    tc, ts = km.trig_tables(w, t, int(k.max()))
    multi = one_dim_multi(w, ps, c, t, k, tc, ts, kmin)
    for u in range(3):
        one = km.one_dim_fast(w, float(ps[u]), c, t, k, tc, ts, kmin)
        for a, b in zip(multi, one):
            np.testing.assert_allclose(a[u], b, rtol=1e-12, atol=1e-15)


def _model():
    rng = np.random.default_rng(11)
    n, d = 100, 8
    w_in = np.abs(rng.normal(size=(d, n))) * (rng.random((d, n)) < 0.15) * 0.8 - 0.05 * rng.random((d, n))
    return cc.Weights(w_in, rng.normal(size=(n, d)) * 0.1), cc.mixing.embedding(n, seed=0)


def test_group_agrees_with_single_points_and_tight_references():
    """_loss_group (one lattice: the longest period, each p's alias bound there) against moments_loss at each
    p within the two estimates, and against a tol 1e-8 reference within its own estimate; E_1, E_2 shared."""
    w, m = _model()
    ps = [0.06, 0.08, 0.11]
    rs = mm._loss_group(w, m, ps, 1e-6, None, mm.K1_START)
    first = [r for r in rs if r.details["attempts"] == 1]  # the others were redone alone
    assert len(first) >= 2
    assert len({tuple(r.details["periods"]) for r in first}) == 1  # one lattice
    for p, r in zip(ps, rs):
        task = cc.Task(m, 8, p)
        single = mm.moments_loss(w, task, tol=1e-6)
        ref = mm.moments_loss(w, task, tol=1e-8)
        assert r.error <= 1e-6 and r.details["group_size"] == 3
        assert abs(r.value - single.value) <= r.error + single.error
        assert abs(r.value - ref.value) <= r.error + ref.error
        assert r.details["E_2"] == pytest.approx(single.details["E_2"], rel=1e-12)
        assert sum(r.details["error_parts"].values()) == pytest.approx(r.error, rel=1e-9)
    # the shared period is the longest of the single points' first-pass periods (per row)
    own = [mm._tail_period(w.W_in, p, mm._first_entry_tol(p, 1e-6, 3) * mm.ALIAS_FRAC) for p in ps]
    l1 = np.abs(w.W_in).sum(axis=1)
    np.testing.assert_allclose(np.array(first[0].details["periods"]),
                               np.max(np.minimum(mm.T_MARGIN * l1, own), axis=0))


def test_group_retries_a_point_whose_first_pass_misses_tol(monkeypatch):
    """A first pass far too loose (entry tolerance 100 x tol) is redone alone until the estimate is <= tol."""
    w, m = _model()
    monkeypatch.setattr(mm, "_first_entry_tol", lambda p, tol, kmin: 100 * tol)
    rs = mm._loss_group(w, m, [0.1, 0.12], 1e-6, None, mm.K1_START)
    for p, r in zip([0.1, 0.12], rs):
        assert r.details["attempts"] >= 2 and r.error <= 1e-6
        monkeypatch.undo()
        single = mm.moments_loss(w, cc.Task(m, 8, p), tol=1e-6)
        assert abs(r.value - single.value) <= r.error + single.error


def test_group_needs_one_kmin():
    w, m = _model()
    with pytest.raises(ValueError, match="low strata"):
        mm._loss_group(w, m, [0.1, 0.9], 1e-6, None, mm.K1_START)
