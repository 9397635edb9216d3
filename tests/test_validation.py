"""Issue 20: every bad input a clear error naming the parameter, every kill clean.

One parametrised battery calls every public entry point with bad inputs (wrong kind, NaN/inf, values
that would overflow the loss, wrong shapes, unbounded requests) and asserts the exception type and that
the message names the parameter at fault; then one test per case of the issue that is not a bad value
(CLI --out, results.json status, cache checksum, stale temporary files, a SIGKILLed sweep's pool).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

import ccsolve as cc
from ccsolve.core import validation as v  # noqa: F401
from ccsolve import analysis as an
from ccsolve import constructions as C
from ccsolve import mixing as mx
from ccsolve.sweep import run_sweep

TRAIN = __import__("importlib").import_module("ccsolve.training.trainer")

M = mx.random(20, 0.02, seed=0)
T = cc.Task(M, 10, 0.05)
T1 = cc.Task(M, 10, one_hot=True)
W = C.naive(T)
X = np.random.default_rng(0).uniform(-1, 1, (20, 3))


def _bad_arrays(good: np.ndarray):
    """(id, value, exception type) for an array argument whose valid value is `good`."""
    out = [
        ("nan", np.where(np.eye(*good.shape, dtype=bool), np.nan, good) if good.ndim == 2 else good * np.nan,
         ValueError),
        ("inf", good + np.inf, ValueError),
        ("huge", good * 0 + 1e200, ValueError),  # would overflow the loss
        ("bool", good != 0, TypeError),
        ("complex", good + 1j, TypeError),
        ("str", "abc", TypeError),
        ("none", None, TypeError),
        ("strings", [["a"] * good.shape[-1]] * good.shape[0], TypeError),
        ("3d", good[None], ValueError),
    ]
    if good.ndim == 2:
        out.append(("1d", good[0], ValueError))
    if good.ndim == 2 and good.shape[0] != good.shape[1]:
        out.append(("transposed", good.T, ValueError))
    return out


def _bad_reals(good: float, positive: bool = False):
    out = [("nan", float("nan"), ValueError), ("inf", float("inf"), ValueError), ("bool", True, TypeError),
           ("complex", 1 + 2j, TypeError), ("str", "1", TypeError), ("none", None, TypeError),
           ("list", [good], TypeError)]
    if positive:
        out.append(("negative", -abs(good), ValueError))
    return out


def _bad_ints(good: int):
    return [("float", float(good), TypeError), ("nan", float("nan"), TypeError), ("bool", True, TypeError),
            ("str", str(good), TypeError), ("none", None, TypeError), ("zero", 0, ValueError),
            ("negative", -good, ValueError)]


def _bad_choices():
    return [("list", ["auto"], TypeError), ("bogus", "bogus", ValueError), ("none", None, ValueError)]


def _bad_flags():
    return [("str", "yes", TypeError), ("int", 1, TypeError), ("none", None, TypeError)]


def _train(**kw):
    kw = {"steps": 3, "batch_size": 16, "progress": False, **kw}
    return cc.train(T, **kw)


# (function label, parameter named in the message, call taking the bad value, bad values)
ENTRIES = [
    ("Task", "mixing", lambda b: cc.Task(b, 10, 0.05), _bad_arrays(M)),
    ("Task", "p", lambda b: cc.Task(M, 10, b), _bad_reals(0.05, positive=True)),
    ("Task", "n_neurons", lambda b: cc.Task(M, b, 0.05), _bad_ints(10)),
    ("Weights", "W_in", lambda b: cc.Weights(b, W.W_out), _bad_arrays(W.W_in)),
    ("Weights", "W_out", lambda b: cc.Weights(W.W_in, b), _bad_arrays(W.W_out)),
    ("Weights.from_row_convention", "w_in", lambda b: cc.Weights.from_row_convention(b, W.W_out.T),
     _bad_arrays(W.W_in.T)),
    ("Weights.hidden", "x", lambda b: W.hidden(b), _bad_arrays(X)),
    ("Weights.__call__", "x", lambda b: W(b), _bad_arrays(X)),
    ("labels", "x", lambda b: cc.labels(T, b), _bad_arrays(X)),
    ("sample_inputs", "n_samples", lambda b: cc.sample_inputs(T, b), _bad_ints(5)),
    ("mixing.random", "sigma", lambda b: mx.random(20, b), _bad_reals(0.02, positive=True)),
    ("mixing.random", "symmetric", lambda b: mx.random(20, 0.02, symmetric=b), _bad_flags()),
    ("mixing.random", "zero_diagonal", lambda b: mx.random(20, 0.02, zero_diagonal=b), _bad_flags()),
    ("mixing.random", "n_features", lambda b: mx.random(b, 0.02), _bad_ints(20)),
    ("mixing.embedding", "d_embed", lambda b: mx.embedding(20, b), _bad_ints(30)),
    ("mixing.clean", "n_features", lambda b: mx.clean(b), _bad_ints(20)),
    ("mixing.describe", "mixing", lambda b: mx.describe(b), _bad_arrays(M)),
    ("one_hot_loss", "mixing", lambda b: cc.one_hot_loss(W, b), _bad_arrays(M)),
    ("one_hot_lower_bound", "mixing", lambda b: cc.one_hot_lower_bound(b, 10), _bad_arrays(M)),
    ("naive_offset_loss", "offset", lambda b: cc.naive_offset_loss(T, b), _bad_reals(0.1)),
    ("loss_per_feature", "method", lambda b: cc.loss_per_feature(W, T, method=b), _bad_choices()),
    ("loss_per_feature", "n_samples", lambda b: cc.loss_per_feature(W, T, n_samples=b), _bad_ints(1000)),
    ("loss_per_feature", "tol", lambda b: cc.loss_per_feature(W, T, tol=b), _bad_reals(1e-3, positive=True)),
    ("optimal_readout", "W_in", lambda b: C.optimal_readout(b, T), _bad_arrays(W.W_in)),
    ("one_hot_loss_and_gradient", "W_in", lambda b: C.one_hot_loss_and_gradient(b, W.W_out, M),
     _bad_arrays(W.W_in)),
    ("one_hot_loss_and_gradient", "W_out", lambda b: C.one_hot_loss_and_gradient(W.W_in, b, M),
     _bad_arrays(W.W_out)),
    ("one_hot_loss_and_gradient", "mixing", lambda b: C.one_hot_loss_and_gradient(W.W_in, W.W_out, b),
     _bad_arrays(M)),
    ("reduced_one_hot_loss_and_gradient", "W_in", lambda b: C.reduced_one_hot_loss_and_gradient(b, M),
     _bad_arrays(W.W_in)),
    ("reduced_one_hot_loss_and_gradient", "mixing", lambda b: C.reduced_one_hot_loss_and_gradient(W.W_in, b),
     _bad_arrays(M)),
    ("product_vs_mixing", "mixing", lambda b: an.product_vs_mixing(W, b), _bad_arrays(M)),
    ("eigen_alignment", "mixing", lambda b: an.eigen_alignment(W, b), _bad_arrays(M)),
    ("train", "lr", lambda b: _train(lr=b), _bad_reals(1e-3, positive=True)),
    ("train", "steps", lambda b: _train(steps=b), _bad_ints(3)),
    ("train", "batch_size", lambda b: _train(batch_size=b), _bad_ints(16)),
    ("train", "threads", lambda b: _train(threads=b), _bad_ints(1)),
    ("train", "sigma_init", lambda b: _train(learn_sigma=True, sigma_init=b), _bad_reals(0.01)),
    ("train", "mixing_base", lambda b: _train(learn_sigma=True, mixing_base=b),
     [(k, b, ValueError if k == "str" else e) for k, b, e in _bad_arrays(M)]),  # a str names a choice ('task')
    ("train", "path", lambda b: _train(path=b), _bad_choices()),
    ("train", "learn_sigma", lambda b: _train(learn_sigma=b), _bad_flags()),
]

# the cases of issue 20 that are single bad values rather than a kind of value
SPECIFIC = [
    # 1. huge values: named with their limit
    ("huge weights", "W_in", lambda: cc.Weights(W.W_in * 1e200, W.W_out * 1e200), ValueError, "1e+30"),
    ("huge mixing", "mixing", lambda: cc.Task(M * 1e200, 10, 0.05), ValueError, "1e+30"),
    ("huge sigma", "sigma", lambda: mx.random(20, 1e200), ValueError, "1e+28"),
    ("huge readout W_in", "W_in", lambda: C.optimal_readout(W.W_in * 1e200, T), ValueError, "1e+30"),
    ("huge offset", "offset", lambda: cc.naive_offset_loss(T, 1e200), ValueError, "1e+30"),
    # 2./7. the gradient helpers: transposed, mismatched, 1-D mixing
    ("gradient W_in transposed", "W_in", lambda: C.one_hot_loss_and_gradient(W.W_in.T, W.W_out, M),
     ValueError, "looks transposed"),
    ("gradient W_out transposed", "W_out", lambda: C.one_hot_loss_and_gradient(W.W_in, W.W_out.T, M),
     ValueError, "looks transposed"),
    ("gradient W_out mismatched", "W_out",
     lambda: C.one_hot_loss_and_gradient(W.W_in, np.zeros((20, 7)), M), ValueError, "(20, 10)"),
    ("gradient 1-D mixing", "mixing", lambda: C.one_hot_loss_and_gradient(W.W_in, W.W_out, M[0]),
     ValueError, "2-D"),
    ("reduced list of str", "W_in", lambda: C.reduced_one_hot_loss_and_gradient([["x"]], M), TypeError, ""),
    # 3. wrong kinds
    ("bool mixing", "mixing", lambda: cc.Task(M.astype(bool), 10), TypeError, "bool"),
    ("complex weights", "W_in", lambda: cc.Weights(W.W_in.astype(complex), W.W_out), TypeError, "complex"),
    ("threads above Numba's", "threads", lambda: _train(threads=10_000), ValueError, "NUMBA_NUM_THREADS"),
    ("unused sigma_init nan", "sigma_init", lambda: _train(sigma_init=float("nan")), ValueError, ""),
    ("huge sigma_init", "sigma_init", lambda: _train(learn_sigma=True, sigma_init=1e200), ValueError, "1e+28"),
    # 4. the argument actually at fault
    ("W_in transposed", "W_in looks transposed", lambda: cc.Weights(W.W_in.T, W.W_out), ValueError, ""),
    ("labels of a string", "x", lambda: cc.labels(T, "a"), TypeError, ""),
    ("zero mixing slope", "mixing", lambda: an.product_vs_mixing(W, np.zeros((20, 20))), ValueError, "zero"),
    # 8. edge sizes
    ("1x1 exact objective", "n_features", lambda: C.minimize_exact(cc.Task(np.zeros((1, 1)), 1, 0.1)),
     ValueError, ">= 2"),
    # 9. unbounded requests: refused, naming the parameter and the limit
    ("tol 1e-12", "tol", lambda: cc.loss_per_feature(W, T, tol=1e-12), ValueError, "1e+11"),
    ("tol 1e-300", "tol", lambda: cc.loss_per_feature(W, T, tol=1e-300), ValueError, "1e+11"),
    ("tol 1e-300 monte carlo", "tol", lambda: cc.loss_per_feature(W, T, method="monte_carlo", tol=1e-300),
     ValueError, "1e+11"),
    ("n_samples 1e13", "n_samples", lambda: cc.loss_per_feature(W, T, n_samples=10**13), ValueError, "1e+11"),
    ("stratified n_samples 1e13", "n_samples",
     lambda: cc.loss_per_feature(W, T, method="stratified", n_samples=10**13), ValueError, "1e+11"),
    ("batch_size 1e10", "batch_size", lambda: _train(batch_size=10**10), ValueError, "1.68e+07"),
    ("steps x batch_size", "steps * batch_size", lambda: _train(steps=10**6, batch_size=10**6), ValueError,
     "1e+10"),
    ("sample_inputs 1e12", "n_samples", lambda: cc.sample_inputs(T, 10**12), ValueError, "<="),
    # 10. divergence at a finite loss; NaN inputs
    ("lr 1e6", "lr", lambda: cc.train(T, steps=20, batch_size=64, lr=1e6, progress=False),
     TRAIN.TrainingDivergedError, "step"),
    ("hidden nan", "x", lambda: W.hidden(np.full(20, np.nan)), ValueError, "NaN"),
    ("choice list", "method", lambda: cc.loss_per_feature(W, T, method=["exact"]), TypeError, ""),
]


OPTIONAL = {("loss_per_feature", "tol"), ("train", "threads"), ("train", "mixing_base")}  # None is valid


def _battery():
    for label, name, call, bads in ENTRIES:
        for kind, value, exc in bads:
            if kind == "none" and (label, name) in OPTIONAL:
                continue
            yield pytest.param(call, value, exc, name, id=f"{label}-{name}-{kind}")


@pytest.mark.parametrize("call, value, exc, name", list(_battery()))
def test_bad_input_battery(call, value, exc, name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning from a NaN slipping into arithmetic
        with pytest.raises(exc) as info:
            call(value)
    msg = str(info.value)
    assert name in msg, msg
    assert "\n" not in msg
    assert "Traceback" not in msg and "numba" not in msg.lower().replace("numba_num_threads", "")


@pytest.mark.parametrize("name, call, exc, extra", [pytest.param(*c[1:], id=c[0]) for c in SPECIFIC])
def test_issue_case(name, call, exc, extra):
    with pytest.raises(exc) as info:
        call()
    msg = str(info.value)
    assert name in msg and extra in msg, msg


def test_good_values_still_pass():
    """The battery's valid arguments are accepted (so its errors come from the bad value alone)."""
    cc.Task(M, 10, 0.05)
    cc.Weights.from_row_convention(W.W_in.T, W.W_out.T)
    np.testing.assert_allclose(W(X), W.W_out @ np.maximum(W.W_in @ X, 0))
    loss, g_in, g_out = C.one_hot_loss_and_gradient(W.W_in, W.W_out, M)
    assert loss == pytest.approx(cc.one_hot_loss(W, M), rel=1e-12)
    # a Task is accepted for mixing, as by one_hot_loss
    assert C.one_hot_loss_and_gradient(W.W_in, W.W_out, T1)[0] == loss
    # the validated gradient equals central finite differences of one_hot_loss
    rng = np.random.default_rng(1)
    w_in = rng.normal(size=(10, 20))
    w_out = rng.normal(size=(20, 10))
    _, g_in, g_out = C.one_hot_loss_and_gradient(w_in, w_out, M)
    h = 1e-6
    for (i, j) in [(0, 0), (3, 7), (9, 19)]:
        e = np.zeros_like(w_in)
        e[i, j] = h
        fd = (cc.one_hot_loss(cc.Weights(w_in + e, w_out), M) - cc.one_hot_loss(cc.Weights(w_in - e, w_out), M)) / (2 * h)
        assert g_in[i, j] == pytest.approx(fd, rel=1e-5, abs=1e-9)
        e = np.zeros_like(w_out)
        e[j, i] = h
        fd = (cc.one_hot_loss(cc.Weights(w_in, w_out + e), M) - cc.one_hot_loss(cc.Weights(w_in, w_out - e), M)) / (2 * h)
        assert g_out[j, i] == pytest.approx(fd, rel=1e-5, abs=1e-9)


def test_one_by_one_task_exact_value():
    """n = 1: every input has at most one active feature, so L/p is the one-hot loss
    ((b a+ - 1 - m)^2 + (b a- + m)^2) / 6 exactly, for every p (issue 20, case 8)."""
    a, b, m = 0.7, 1.3, 0.2
    task = cc.Task([[m]], 1, 0.3)
    w = cc.Weights([[a]], [[b]])
    ref = ((b * a - 1 - m) ** 2 + m**2) / 6.0
    for method in ("exact", "stratified", "auto"):
        est = cc.loss_per_feature(w, task, method=method, tol=1e-3 if method != "stratified" else None,
                                  n_samples=1000)
        assert est.value == pytest.approx(ref, rel=1e-12), method


# ------------------------------------------------------------------------------------- files


def test_weights_load_errors_name_the_path(tmp_path):
    W.save(tmp_path / "w.npz", note="x")
    good = (tmp_path / "w.npz").read_bytes()
    (tmp_path / "trunc.npz").write_bytes(good[: len(good) // 2])
    (tmp_path / "random.npz").write_bytes(np.random.default_rng(0).bytes(4000))
    for name in ("trunc.npz", "random.npz"):
        path = str(tmp_path / name)
        with pytest.raises(ValueError) as info:
            cc.Weights.load(path)
        assert path in str(info.value) and "allow_pickle" not in str(info.value)
    # metadata that is not JSON
    import io

    bio = io.BytesIO()
    np.savez(bio, W_in=W.W_in, W_out=W.W_out, metadata=np.array("{not json"))
    (tmp_path / "meta.npz").write_bytes(bio.getvalue())
    assert cc.Weights.load(tmp_path / "meta.npz") == W
    with pytest.raises(ValueError, match="meta.npz.*not valid JSON"):
        cc.Weights.load_metadata(tmp_path / "meta.npz")
    assert cc.Weights.load_metadata(tmp_path / "w.npz")["note"] == "x"


def point(config):  # top level: cacheable
    return {"value": config["a"] * 2.5}


def test_cache_checksum_detects_an_edited_result(tmp_path):
    configs = [{"a": 1}, {"a": 2}]
    first = run_sweep(point, configs, cache_dir=tmp_path, executor="serial", progress=False)
    files = sorted(tmp_path.glob("*.json"))
    doc = json.loads(files[0].read_text())
    assert doc["checksum"].startswith("sha256:")
    doc["result"]["value"] = 99.0  # valid JSON, edited result
    files[0].write_text(json.dumps(doc))
    with pytest.warns(RuntimeWarning, match="1 unreadable or inconsistent"):
        again = run_sweep(point, configs, cache_dir=tmp_path, executor="serial", progress=False)
    assert again.computed == 1 and again.cached == 1 and again.corrupt == 1
    assert again.results == first.results == [{"value": 2.5}, {"value": 5.0}]


def test_stale_tmp_files_are_removed(tmp_path):
    old = tmp_path / ".tmp-abc-x.json"
    new = tmp_path / ".tmp-def-y.json"
    old.write_text("{")
    new.write_text("{")
    past = time.time() - 3600
    os.utime(old, (past, past))
    run_sweep(point, [{"a": 1}], cache_dir=tmp_path, executor="serial", progress=False)
    assert not old.exists()
    assert new.exists()  # may belong to a write in progress


# ------------------------------------------------------------------------------------- CLI


@pytest.mark.parametrize("kind", ["file", "under_file", "unwritable", "empty"])
def test_compare_out_checked_before_any_work(tmp_path, capsys, kind):
    from ccsolve import compare

    f = tmp_path / "afile"
    f.write_text("x")
    out = {"file": str(f), "under_file": str(f / "sub"), "unwritable": "/proc/ccsolve-no/such",
           "empty": ""}[kind]
    t0 = time.perf_counter()
    with pytest.raises(SystemExit) as info:
        # the default run (100 features, training) takes minutes: an error after it would time out
        compare.main(["--out", out, "--quiet"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out" in err, err
    assert time.perf_counter() - t0 < 30


def test_figures_names_only_the_unknown(tmp_path, capsys):
    from ccsolve import figures

    with pytest.raises(SystemExit) as info:
        figures.main(["all", "bogus", "--out", str(tmp_path)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "['bogus']" in err and "'all'" not in err.split(";")[0], err
    (tmp_path / "f").write_text("")
    with pytest.raises(SystemExit) as info:
        figures.main(["2", "--out", str(tmp_path / "f" / "x")])  # under a file: refused before any work
    assert info.value.code == 2
    assert "--out" in capsys.readouterr().err


def test_compare_out_status_incomplete_then_complete(tmp_path, monkeypatch):
    from ccsolve import compare

    out = tmp_path / "run"

    def killed(*a, **k):
        raise KeyboardInterrupt  # stands for a kill during the computation

    monkeypatch.setattr(compare, "compare", killed)
    with pytest.raises(KeyboardInterrupt):
        compare.main(["--out", str(out), "--quiet", "--n-features", "6", "--n-neurons", "6"])
    assert json.loads((out / "results.json").read_text())["status"] == "incomplete"
    monkeypatch.undo()
    # clean M with n_features == n_neurons: the naive model is exact (loss 0); no division by it
    assert compare.main(["--out", str(out), "--quiet", "--mixing", "clean", "--n-features", "6",
                         "--n-neurons", "6", "--no-train", "--one-hot"]) == 0
    doc = json.loads((out / "results.json").read_text())
    assert doc["status"] == "complete"
    naive = next(r for r in doc["rows"] if r["name"] == "naive")
    assert naive["name"] == "naive" and naive["loss_per_feature"] == 0.0 and naive["relative_to_naive"] == 1.0


# ------------------------------------------------------------------------------------- kills


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == pid:
                kids.append(int(entry))
    return kids


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigkilled_sweep_leaves_no_pool_process(tmp_path):
    script = tmp_path / "sweeper.py"
    script.write_text(textwrap.dedent("""
        import os, sys, time
        from ccsolve.sweep import run_sweep

        def slow(config):
            open(os.path.join(sys.argv[1], f"worker-{os.getpid()}"), "w").close()
            time.sleep(120)
            return {}

        if __name__ == "__main__":
            import sweeper
            run_sweep(sweeper.slow, [{"i": i} for i in range(4)], executor="process", max_workers=2,
                      progress=False)
    """))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.path.dirname(os.path.dirname(
        cc.__file__))])}
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path)], env=env, cwd=tmp_path)
    pool = set()
    try:
        deadline = time.time() + 90
        while len(list(tmp_path.glob("worker-*"))) < 2 and time.time() < deadline:
            time.sleep(0.2)
        assert len(list(tmp_path.glob("worker-*"))) >= 2, "the workers never started"
        # the pool: the sweep's children (forkserver, resource tracker) and theirs (the workers)
        frontier = [proc.pid]
        while frontier:
            kids = _children(frontier.pop())
            pool.update(kids)
            frontier.extend(kids)
        workers = {int(p.name.split("-")[1]) for p in tmp_path.glob("worker-*")}
        assert workers <= pool and len(pool) >= 3
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        deadline = time.time() + 5
        while any(_alive(p) for p in pool) and time.time() < deadline:
            time.sleep(0.1)
        left = [p for p in pool if _alive(p)]
        assert not left, f"pool processes still alive 5 s after SIGKILL: {left}"
    finally:
        for p in pool | {proc.pid}:
            if _alive(p):
                os.kill(p, signal.SIGKILL)
