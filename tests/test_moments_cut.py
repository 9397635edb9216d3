"""The 2-D cross cut of moments_loss: the nested coarser region, the extrapolation of what the cut leaves out,
the error estimate's parts, and loss_curve(method="auto") (issue 16)."""

import numpy as np
import pytest

import ccsolve as cc
import ccsolve.evaluation.moments as mm
from ccsolve._kernels import moments as km


def _terms(w, p, c, t, a, b, kb_box, ka, kmin):
    """NumPy: the scaled 2-D terms of pair (a, b) on m1 = 0..ka, m2 = -kb..kb (direct complex arithmetic)."""
    n = w.shape[1]
    q = 1 - p
    m1 = np.arange(ka + 1)[:, None]
    m2 = np.arange(-kb_box, kb_box + 1)[None, :]
    s1 = c[a] + 1j * m1 * 2 * np.pi / t[a]
    s2 = c[b] + 1j * m2 * 2 * np.pi / t[b]
    z = s1[..., None] * w[a] + s2[..., None] * w[b]  # (ka+1, 2kb+1, n)
    phi = np.where(np.abs(z) > 0, np.sinh(z) / np.where(z == 0, 1, z), 1.0)
    h = np.prod(q + p * phi, axis=-1) - q**n - p * q ** (n - 1) * phi.sum(-1)
    if kmin >= 3:
        h -= 0.5 * p * p * q ** (n - 2) * (phi.sum(-1) ** 2 - (phi**2).sum(-1))
    sc = 2.0 / (t[a] * t[b])
    g = 1.0 / (s1 * s1 * s2 * s2)
    return (g * h).real, sc * np.abs(g * h)  # terms (before the m = 0 weights) and their scaled size


def _region_sum(terms, mag, kb, thr):
    """The row rule of two_dim_fast on precomputed terms: (sum, nodes)."""
    acc, nodes, r = 0.0, 0, kb
    for m1 in range(terms.shape[0]):
        nodes += 2 * r + 1
        last = -1
        for m2 in range(-r, r + 1):
            if thr > 0 and abs(m2) > last and mag[m1, kb + m2] > thr:
                last = abs(m2)
            if m1 == 0 and m2 < 0:
                continue
            acc += (0.5 if (m1 == 0 and m2 == 0) else 1.0) * terms[m1, kb + m2]
        if thr > 0:
            r = min(r, last + max(2, r // 4))
    return acc, nodes


@pytest.mark.parametrize("kmin", [2, 3])
def test_cross_region_and_nested_coarser_cut_against_numpy(kmin):
    """two_dim_fast's first column, node count and fourth column (the region at CUT_RATIO x thr) against the
    row rule replayed in NumPy on directly computed terms."""
    rng = np.random.default_rng(21)
    n, d = 7, 3
    w = rng.normal(size=(d, n)) * 0.7
    p = 0.35
    t = 1.02 * np.abs(w).sum(axis=1)
    c = 2.0 / t
    k = np.array([30, 26, 34], dtype=np.int64)
    tc, ts = km.trig_tables(w, t, 34)
    ia, ib = (x.astype(np.int64) for x in np.triu_indices(d, 1))
    thr = 1e-7
    out = km.two_dim_fast(w, p, c, t, k, ia, ib, tc, ts, kmin, thr)
    for row, (a, b) in enumerate(zip(ia, ib)):
        terms, mag = _terms(w, p, c, t, a, b, k[b], k[a], kmin)
        full, nodes = _region_sum(terms, mag, k[b], thr)
        coarse, _ = _region_sum(terms, mag, k[b], thr * km.CUT_RATIO)
        sc = 2.0 / (t[a] * t[b])
        assert out[row, 2] == nodes
        assert abs(out[row, 0] - sc * full) < 1e-12 * max(1.0, abs(sc * full))
        assert abs(out[row, 3] - sc * coarse) < 1e-12 * max(1.0, abs(sc * coarse))
        assert out[row, 3] != out[row, 0]  # the coarser cut is a strictly smaller region here
    box = km.two_dim_fast(w, p, c, t, k, ia, ib, tc, ts, kmin, 0.0)
    assert np.array_equal(box[:, 3], box[:, 0])  # the full box has no cut


def _cut_model():
    rng = np.random.default_rng(5)
    n, d = 100, 8
    w_in = np.abs(rng.normal(size=(d, n))) * (rng.random((d, n)) < 0.15) * 0.8 - 0.05 * rng.random((d, n))
    w = cc.Weights(w_in, rng.normal(size=(n, d)) * 0.3)
    return w, cc.Task(cc.mixing.embedding(n, seed=0), d, 0.1)


def test_cut_extrapolation_is_within_its_error_and_helps(monkeypatch):
    """Against the full box (no cut) at the same truncations: the extrapolated cut is within the estimate's
    cut part, and closer than the plain cut (CUT_EXTRAP = 0)."""
    w, task = _cut_model()
    kmin = 3
    et = 1e-7
    res = {}
    for name, extrap, thr in (("extrap", mm.CUT_EXTRAP, mm.CROSS_THR_LOW), ("plain", 0.0, mm.CROSS_THR_LOW),
                              ("box", 0.0, 0.0)):
        monkeypatch.setattr(mm, "CUT_EXTRAP", extrap)
        monkeypatch.setattr(mm, "CROSS_THR_LOW", thr)
        res[name] = mm._restricted(np.ascontiguousarray(w.W_in), task.p, et, kmin, 4096, 400, None)
    g = w.W_out.T @ w.W_out
    norm = task.n_features * task.p
    loss = {k: float(np.sum(g * r[0])) / norm for k, r in res.items()}
    iu = np.triu_indices(w.n_neurons, 1)
    cut_err = abs(2 * float(np.sum(g[iu] * res["extrap"][-1]["cut_pairs"]))) / norm
    plain, extrap = abs(loss["plain"] - loss["box"]), abs(loss["extrap"] - loss["box"])
    assert plain > 1e-9  # the cut matters on this model
    assert extrap < 0.5 * plain
    assert extrap <= cut_err


def test_error_estimate_covers_the_actual_error_and_has_parts():
    """moments_loss at tol 1e-6 against a tight reference (tol 1e-8) on the cut model: actual <= estimate;
    the parts are non-negative and add up to the estimate."""
    w, task = _cut_model()
    r = mm.moments_loss(w, task, tol=1e-6)
    ref = mm.moments_loss(w, task, tol=1e-8)
    assert abs(r.value - ref.value) <= r.error + ref.error
    parts = r.details["error_parts"]
    assert set(parts) == {"truncation", "cut", "alias"} and min(parts.values()) >= 0
    assert sum(parts.values()) == pytest.approx(r.error, rel=1e-9)
    assert r.error <= 1e-6 and r.details["attempts"] >= 1


def test_truncation_search_start_does_not_change_the_result():
    """_curve_point with the 1-D search started high (a neighbour's truncation) agrees within the errors."""
    w, task = _cut_model()
    a = mm._curve_point(w, task, 1e-6, None, 32)
    b = mm._curve_point(w, task, 1e-6, None, 2048)
    assert b.details["k1"] >= 2048
    assert abs(a.value - b.value) <= a.error + b.error


def test_auto_loss_curve_against_the_stratified_curve():
    """loss_curve(method="auto") against the stratified curve (independent sampler) within 4 SE + the
    estimate; the method per point follows AUTO_CURVE_STRAT_P."""
    from ccsolve.evaluation.curve import AUTO_CURVE_STRAT_P

    rng = np.random.default_rng(8)
    n, d = 24, 6
    w = cc.Weights(rng.normal(size=(d, n)) * 0.4, rng.normal(size=(n, d)) * 0.3)
    task = cc.Task(rng.normal(size=(n, n)) * 0.05, d, 0.5)
    ps = [0.005, 0.015, 0.05, 0.2, 0.6]
    auto = cc.loss_curve(w, task, ps, tol=1e-5, method="auto", seed=3)
    strat = cc.loss_curve(w, task, ps, tol=2e-4, seed=4)
    assert auto.method == "auto" and len(auto.methods) == len(ps)
    for i, p in enumerate(ps):
        assert (auto.methods[i] == "moments") == (p > AUTO_CURVE_STRAT_P)
        assert auto.stderrs[i] <= 1e-5
        assert abs(auto.values[i] - strat.values[i]) <= 4 * strat.stderrs[i] + auto.stderrs[i]
        assert auto.estimate(i).method == auto.methods[i]
    assert np.all(auto.point_seconds >= 0)


def test_auto_loss_curve_bad_input():
    w, task = _cut_model()
    with pytest.raises(ValueError, match="method"):
        cc.loss_curve(w, task, [0.1], tol=1e-4, method="moments-only")
    with pytest.raises(TypeError, match="progress"):
        cc.loss_curve(w, task, [0.1], tol=1e-4, method="auto", progress="yes")
    with pytest.raises(ValueError, match="ps"):
        cc.loss_curve(w, task, [0.1, 1.5], tol=1e-4, method="auto")
