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
