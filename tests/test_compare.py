"""`python -m ccsolve.compare` end to end, on a small task."""

import json
import subprocess
import sys

import numpy as np
import pytest

import ccsolve as cc

SMALL = ["--n-features", "20", "--n-neurons", "10", "--d-embed", "100", "--steps", "300",
         "--n-samples", "200000"]


def _run(args, cwd=None):
    return subprocess.run([sys.executable, "-m", "ccsolve.compare", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare")
    proc = _run([*SMALL, "--out", str(out), "--json", "--quiet"])
    return proc, out


def test_cli_end_to_end(small_run):
    proc, out = small_run
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    names = [r["name"] for r in data["rows"]]
    for expected in ["naive", "naive + offset", "SVD (I + M)", "SNMF (exact)", "minimize_one_hot"]:
        assert expected in names
    assert any(n.startswith("trained") for n in names)
    assert data["ccsolve_version"] == cc.__version__
    assert data["config"]["seed"] == 0 and data["config"]["n_features"] == 20
    lb = data["one_hot_lower_bound"]
    for r in data["rows"]:
        for key in ("loss_per_feature", "stderr", "one_hot_loss", "gap_to_lower_bound", "relative_to_naive"):
            assert np.isfinite(r[key]), (r["name"], key)
        assert r["stderr"] >= 0
        # no weights beat the Eckart-Young bound in the one-hot limit
        assert r["one_hot_loss"] >= lb - 1e-12
    # the naive row is exact and equals the closed form on the same task
    from ccsolve.compare import build_task

    task = build_task("embedding", n_features=20, n_neurons=10, d_embed=100, p=0.01, seed=0)
    naive = next(r for r in data["rows"] if r["name"] == "naive")
    assert naive["stderr"] == 0 and np.isclose(naive["loss_per_feature"], cc.naive_loss(task))
    # results.json on disk is the same document
    assert json.loads((out / "results.json").read_text())["rows"] == data["rows"]


def test_cli_writes_weights_and_valid_pngs(small_run):
    proc, out = small_run
    assert proc.returncode == 0, proc.stderr
    import matplotlib.image as mpimg

    for png in ["loss_curves.png", "bars.png"]:
        raw = (out / png).read_bytes()
        assert raw[:8] == b"\x89PNG\r\n\x1a\n"
        img = mpimg.imread(out / png)
        assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    data = json.loads((out / "results.json").read_text())
    files = sorted((out / "weights").glob("*.npz"))
    assert len(files) == len(data["rows"])
    w = cc.Weights.load(files[0])
    assert (w.n_features, w.n_neurons) == (20, 10)


def test_cli_table_output():
    proc = _run([*SMALL, "--no-train", "--quiet", "--mixing", "random", "--sigma", "0.05"])
    assert proc.returncode == 0, proc.stderr
    assert "| naive |" in proc.stdout and "one-hot lower bound" in proc.stdout
    assert "trained" not in proc.stdout


@pytest.mark.parametrize(
    "args, match",
    [
        (["--p", "0"], "p must be in"),
        (["--p", "1.5"], "p must be in"),
        (["--mixing", "foo"], "--mixing"),
        (["--sigma", "-0.1", "--mixing", "random"], "sigma"),
        (["--n-neurons", "0"], "n_neurons"),
        (["--steps", "0"], "--steps"),
        (["--bogus"], "unrecognized"),
        (["--p", "abc"], "--p"),
    ],
)
def test_cli_bad_options_exit_2(args, match):
    proc = _run(args + ["--quiet", "--no-train"])
    assert proc.returncode == 2
    assert match in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_cli_rows_match_independent_numpy_references(small_run):
    """Every row's one-hot column from its saved weights by the formula written out in NumPy, the bound
    by an SVD in NumPy, and one sampled row against the reference's dense NumPy evaluator (4 SE)."""
    from ccsolve.compare import _slug, build_task
    from ccsolve.evaluation.montecarlo import dense_numpy_loss

    proc, out = small_run
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    task = build_task("embedding", n_features=20, n_neurons=10, d_embed=100, p=0.01, seed=0)
    m, n, d = task.mixing, 20, 10
    s = np.linalg.svd(np.hstack([np.eye(n) + m, -m]), compute_uv=False)
    assert data["one_hot_lower_bound"] == pytest.approx(np.sum(s[d:] ** 2) / (6 * n), rel=1e-10)
    for r in data["rows"]:
        w = cc.Weights.load(out / "weights" / (_slug(r["name"]) + ".npz"))
        P, N = np.maximum(w.W_in, 0), np.maximum(-w.W_in, 0)
        one_hot = (np.sum((w.W_out @ P - np.eye(n) - m) ** 2) + np.sum((w.W_out @ N + m) ** 2)) / (6 * n)
        assert r["one_hot_loss"] == pytest.approx(one_hot, rel=1e-9), r["name"]
        assert r["gap_to_lower_bound"] == pytest.approx(one_hot - data["one_hot_lower_bound"], abs=1e-9)
    snmf = next(r for r in data["rows"] if r["name"] == "SNMF (exact)")
    w = cc.Weights.load(out / "weights" / (_slug(snmf["name"]) + ".npz"))
    ref = dense_numpy_loss(w, task, n_samples=400_000, seed=11)
    assert abs(snmf["loss_per_feature"] - ref.value) <= 4 * np.hypot(ref.stderr, snmf["stderr"])
