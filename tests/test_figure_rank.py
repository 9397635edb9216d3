"""The nb6 rank figure (quick mode): its effective ranks recomputed in NumPy from the same M, and every
one-hot loss at or above the one-hot lower bound of the learned M."""

import json

import numpy as np

from ccsolve import figures, mixing


def test_rank_figure_data(tmp_path):
    figures.make_figure("rank", str(tmp_path), quick=True, workers=1, progress=False)
    doc = json.load(open(tmp_path / "rank.json"))
    d = doc["data"]
    n = doc["config"]["n_features"]
    assert (tmp_path / "rank.png").stat().st_size > 0
    for r, er in zip(d["ranks"], d["effective_rank"]):
        m = mixing.random(n, 1.0, seed=0) if r is None else mixing.low_rank(n, r, seed=0, flat_spectrum=True,
                                                                           symmetric=True)
        s = np.linalg.svd(m, compute_uv=False)  # a scale does not change the effective rank
        q = s / s.sum()
        assert abs(er - np.exp(-np.sum(q * np.log(q + 1e-12)))) < 1e-6
    assert list(d["effective_rank"]) == sorted(d["effective_rank"])
    for key in ("trained", "snmf_exact", "naive"):
        assert all(v >= lb - 1e-9 for v, lb in zip(d[key], d["lower_bound"]))
    assert all(np.isfinite(d["sigma"])) and all(s >= 0 for s in d["sigma"])
