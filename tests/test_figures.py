"""Every figure in --quick mode writes its PNG and its data file; reruns hit the cache."""

import json
import subprocess
import sys

import numpy as np
import pytest

import ccsolve as cc
from ccsolve import figures

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("figures")


@pytest.mark.parametrize("name", list(figures.FIGURES))
def test_quick_figure(out, name):
    paths = figures.make_figure(name, str(out), quick=True, workers=1, progress=False)
    png = next(p for p in paths if p.endswith(".png"))
    js = next(p for p in paths if p.endswith(".json"))
    with open(png, "rb") as fh:
        assert fh.read(8) == PNG
    import matplotlib.image as mpimg

    img = mpimg.imread(png)
    assert img.shape[0] > 100 and img.shape[1] > 100
    doc = json.loads(open(js).read())
    assert doc["ccsolve_version"] == cc.__version__ and doc["quick"] is True
    assert doc["config"]["n_features"] == 20
    assert doc["data"]


def test_fig10_offset_matches_clean_formula(out):
    figures.make_figure("10", str(out), quick=True, workers=1, progress=False)
    doc = json.loads((out / "fig10.json").read_text())["data"]
    ps = np.array(doc["ps"])
    d = 10  # quick: n_neurons
    assert np.allclose(doc["optimal_offset"], ps / (8 / 3 + (d - 1) * ps), rtol=1e-10)
    # the closed-form optimum is never worse than the reference's grid search
    assert doc["at"]["1"]["loss"] <= 1 / 12


def test_rerun_gives_identical_data(out):
    figures.make_figure("5b", str(out), quick=True, workers=1, progress=False)
    first = json.loads((out / "fig5b.json").read_text())
    figures.make_figure("5b", str(out), quick=True, workers=1, progress=False)
    assert json.loads((out / "fig5b.json").read_text()) == first


def test_cli_bad_names_exit_2(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ccsolve.figures", "nope", "--out", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "unknown figure" in proc.stderr and "Traceback" not in proc.stderr


def test_crossing_interpolates_the_first_upward_crossing():
    xs = [0.0, 1.0, 2.0, 3.0, 4.0]
    ys = [-2.0, -1.0, 1.0, -1.0, 3.0]  # up between 1 and 2 (at 1.5), down, up again
    assert figures._crossing(xs, ys, 0.0) == pytest.approx(1.5)
    assert figures._crossing(xs, [v + 5 for v in ys], 0.0) is None  # never below
    assert figures._crossing(xs, [-1.0] * 5, 0.0) is None  # never back above


# --- each figure's numbers against independent references ------------------------------------------


def _doc(out, name):
    path = out / f"fig{name}.json" if name[0].isdigit() else out / f"{name}.json"
    if not path.exists():
        figures.make_figure(name, str(out), quick=True, workers=1, progress=False)
    return json.loads(path.read_text())


def _naive_one_hot(m, d):
    """MATH: naive L/p = (n - d)/(6n) + (||M||_F^2 + sum_{o >= d} M_oo)/(3n), written out in NumPy."""
    n = m.shape[0]
    return (n - d) / (6 * n) + (np.sum(m * m) + np.trace(m[d:, d:])) / (3 * n)


def _eckart_young(m, d):
    n = m.shape[0]
    s = np.linalg.svd(np.hstack([np.eye(n) + m, -m]), compute_uv=False)
    return float(np.sum(s[d:] ** 2) / (6 * n))


def test_fig9_naive_and_bound_match_closed_forms_and_bound_every_curve(out):
    doc = _doc(out, "9")
    n, d = doc["config"]["n_features"], doc["config"]["n_neurons"]
    data = doc["data"]
    for i, s in enumerate(data["sigmas"]):
        m = cc.mixing.random(n, s, seed=0)
        assert data["naive"][i] == pytest.approx(_naive_one_hot(m, d), rel=1e-12, abs=1e-15)
        assert data["lower_bound"][i] == pytest.approx(_eckart_young(m, d), rel=1e-10)
        for key in ("snmf_exact", "snmf_reference", "naive"):
            assert data[key][i] >= data["lower_bound"][i] - 1e-12, (key, s)
    assert data["sigmas"][0] == 0.0
    assert data["naive"][0] == pytest.approx(1 / 12, abs=1e-15)  # clean labels: naive is exactly 1/12
    assert data["lower_bound"][0] == pytest.approx(1 / 12, abs=1e-12)  # ... and nothing beats it one-hot


@pytest.mark.parametrize("name", ["bound", "snmf"])
def test_one_hot_curves_never_below_the_lower_bound(out, name):
    data = _doc(out, name)["data"]
    bounds = {k: np.array(v) for k, v in data.items() if k.endswith("lower_bound")}
    assert bounds
    for bkey, bound in bounds.items():
        prefix = bkey[: -len("lower_bound")]
        series = [k for k in data if k.startswith(prefix) and k != bkey and k != "sigmas"]
        assert series, bkey
        for k in series:
            assert np.all(np.array(data[k]) >= bound - 1e-12), (k, data[k], bound)


def test_fig6_naive_clean_is_one_twelfth_and_fig4_shares_are_fractions(out):
    assert _doc(out, "6")["data"]["naive_clean"] == pytest.approx(1 / 12, abs=1e-15)
    for entry in _doc(out, "4")["data"].values():
        share = np.array(entry["max_share"])
        assert np.all((share >= 0) & (share <= 1 + 1e-12))


def test_fig7_fractions_and_cosines_are_in_range(out):
    for entry in _doc(out, "7")["data"].values():
        for key in ("in_fraction_top", "out_fraction_top"):
            f = np.array(entry[key])
            assert np.all((f >= -1e-12) & (f <= 1 + 1e-12)), key
        cos = np.array(entry["preservation_cos"])
        assert np.all(np.abs(cos) <= 1 + 1e-12)


def test_fig5a_curves_have_their_stderr_and_sorted_ps(out):
    for kind, c in _doc(out, "5a")["data"].items():
        ps = np.array(c["ps"])
        assert np.all(np.diff(ps) > 0), kind
        assert np.all(np.array(c["stderrs"]) >= 0) and np.all(np.isfinite(c["values"])), kind


def test_rank_figure_effective_ranks_and_bound(out):
    """nb6 figure: effective ranks recomputed in NumPy from the same M; every one-hot loss >= the bound."""
    doc = _doc(out, "rank")
    d, n = doc["data"], doc["config"]["n_features"]
    for r, er in zip(d["ranks"], d["effective_rank"]):
        m = cc.mixing.random(n, 1.0, seed=0) if r is None else cc.mixing.low_rank(
            n, r, seed=0, flat_spectrum=True, symmetric=True)
        s = np.linalg.svd(m, compute_uv=False)  # a scale does not change the effective rank
        q = s / s.sum()
        assert abs(er - np.exp(-np.sum(q * np.log(q + 1e-12)))) < 1e-6
    assert list(d["effective_rank"]) == sorted(d["effective_rank"])
    for key in ("trained", "snmf_exact", "naive"):
        assert all(v >= lb - 1e-9 for v, lb in zip(d[key], d["lower_bound"]))
    assert all(np.isfinite(d["sigma"])) and all(s >= 0 for s in d["sigma"])
