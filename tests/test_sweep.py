"""ccsolve.sweep: grids, cache keys, process pool vs serial, resuming from the cache, Dask."""

import collections
import hashlib
import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import numpy as np
import pytest

import ccsolve as cc
from ccsolve import sweep
from ccsolve.sweep import PointError, cache_key, evaluate_point, grid, make_task, run_sweep

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))


# --- point functions: top level so that process pools can pickle them by reference -----------------


def counting_point(config):
    """Logs each call to config['counter'] and fails at i == fail_at while config['stop_file'] exists."""
    with open(config["counter"], "a") as fh:
        fh.write(f"{config['i']}\n")
    if config.get("fail_at") == config["i"] and os.path.exists(config["stop_file"]):
        raise RuntimeError("simulated interruption")
    time.sleep(config.get("sleep", 0.0))
    return {"i": config["i"], "square": config["i"] ** 2, "arange": np.arange(config["i"]),
            "half": np.float64(config["i"] / 2)}


def dying_point(config):
    """counting_point, but the worker process dies (no exception, no cleanup) at i == fail_at."""
    if config.get("fail_at") == config["i"] and os.path.exists(config["stop_file"]):
        with open(config["counter"], "a") as fh:
            fh.write(f"{config['i']}\n")
        os._exit(3)
    return counting_point(config)


def threads_point(config):
    import numba

    return {"env": {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")},
            "numba_threads": numba.get_num_threads(), "pid": os.getpid()}


def not_a_dict_point(config):
    return [config["i"]]


def _counts(path):
    if not os.path.exists(path):
        return collections.Counter()
    with open(path) as fh:
        return collections.Counter(int(line) for line in fh if line.strip())


def _counting_configs(tmp_path, n, **extra):
    return grid(i=list(range(n)), counter=str(tmp_path / "counter.txt"), stop_file=str(tmp_path / "STOP"),
                **extra)


SMALL = dict(n_features=20, n_neurons=10, d_embed=100, n_samples=40_000)


def _eval_configs():
    cfgs = grid(mixing=["random", "symmetric"], sigma=0.05, p=[0.01, 0.5],
                construction=["naive", "naive_offset"], **SMALL)
    cfgs += grid(mixing=["clean", "embedding"], one_hot=True, method=["exact", "monte_carlo"], **SMALL)
    return cfgs


# --- grid and cache key --------------------------------------------------------------------------------


def test_grid_is_the_cartesian_product_last_axis_fastest():
    g = grid(a=[1, 2, 3], b=("x", "y"), c=np.array([0.5, 0.25]), fixed="s", d=None)
    ref = [{"a": a, "b": b, "c": c, "fixed": "s", "d": None}
           for a, b, c in itertools.product([1, 2, 3], ["x", "y"], [0.5, 0.25])]
    assert g == ref and [list(x) for x in g] == [list(x) for x in ref]
    assert grid(a=[1, 2], b=[]) == []
    assert grid() == [{}]
    with pytest.raises(ValueError, match="grid axis 'a' must be 1-D"):
        grid(a=np.zeros((2, 2)))


def test_cache_key_is_sha256_of_canonical_json_and_ignores_key_order():
    config = {"sigma": 0.03, "mixing": "random", "nested": {"b": [1, 2], "a": True}}
    # the documented scheme, written out by hand
    text = ('{"config":{"mixing":"random","nested":{"a":true,"b":[1,2]},"sigma":0.03},'
            '"function":"ccsolve.sweep.evaluate_point"}')
    assert cache_key(evaluate_point, config) == hashlib.sha256(text.encode()).hexdigest()
    reordered = {"nested": {"a": True, "b": (1, 2)}, "mixing": "random", "sigma": np.float64(0.03)}
    assert cache_key(evaluate_point, reordered) == cache_key(evaluate_point, config)
    assert cache_key("ccsolve.sweep.evaluate_point", config) == cache_key(evaluate_point, config)
    # what changes the key: the function, a value, an int/float type difference
    assert cache_key(sweep.train_point, config) != cache_key(evaluate_point, config)
    assert cache_key(evaluate_point, {**config, "sigma": 0.031}) != cache_key(evaluate_point, config)
    assert cache_key(evaluate_point, {"seed": 1}) != cache_key(evaluate_point, {"seed": 1.0})


def test_cache_key_stable_across_processes():
    config = {"b": 2, "a": [1, {"y": 0.1, "x": None}]}
    code = ("from ccsolve.sweep import cache_key; "
            "print(cache_key('m.f', {'a': [1, {'x': None, 'y': 0.1}], 'b': 2}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "123"})
    assert out.stdout.strip() == cache_key("m.f", config)


# --- make_task / evaluate_point ---------------------------------------------------------------------


def test_make_task_matches_the_mixing_definitions():
    n, sigma, seed = 12, 0.04, 7
    g = np.random.default_rng(seed).standard_normal((n, n))
    t = make_task({"mixing": "random", "sigma": sigma, "seed": seed, "n_features": n, "n_neurons": 5, "p": 0.2})
    assert np.array_equal(t.mixing, sigma * g) and (t.n_neurons, t.p, t.one_hot) == (5, 0.2, False)
    t = make_task({"mixing": "symmetric", "sigma": sigma, "seed": seed, "n_features": n})
    upper = np.triu(g)
    assert np.array_equal(t.mixing, sigma * (upper + np.triu(g, 1).T)) and t.n_neurons == 50
    t = make_task({"mixing": "random", "sigma": sigma, "seed": seed, "n_features": n, "zero_diagonal": True})
    assert np.all(np.diag(t.mixing) == 0) and np.array_equal(t.mixing[0, 1:], sigma * g[0, 1:])
    t = make_task({"mixing": "embedding", "seed": 3, "n_features": n, "d_embed": 50, "sign": -1, "one_hot": True})
    w = np.random.default_rng(3).standard_normal((n, 50))
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    np.testing.assert_allclose(t.mixing, np.eye(n) - w @ w.T, atol=1e-14)
    assert t.one_hot
    assert not make_task({"mixing": "clean", "n_features": n, "steps": 5}).mixing.any()  # other keys ignored


def test_evaluate_point_naive_on_clean_labels_is_one_twelfth():
    # naive keeps half the features: each unrepresented one costs E[ReLU(u)^2] = 1/6 -> L/p = 1/12,
    # at any p (independent features) and exactly in the one-hot limit
    base = dict(mixing="clean", n_features=20, n_neurons=10)
    r = evaluate_point({**base, "one_hot": True, "method": "exact"})
    assert r["loss_per_feature"] == pytest.approx(1 / 12, abs=1e-15) and r["stderr"] == 0
    assert r["one_hot_loss"] == pytest.approx(1 / 12, abs=1e-15)
    for p in (0.02, 0.6):
        r = evaluate_point({**base, "p": p, "n_samples": 200_000, "seed": 5})
        assert abs(r["loss_per_feature"] - 1 / 12) < 4 * r["stderr"], (p, r)
        assert r["p"] == p and r["n_samples"] == 200_000
    # the lower bound: the clean task's [I, 0] has n unit singular values, n - d of them dropped
    assert r["one_hot_lower_bound"] == pytest.approx((20 - 10) / (6 * 20), rel=1e-12)
    r = evaluate_point({**base, "one_hot": True, "method": "exact", "return_weights": True,
                        "construction": "naive_offset", "construction_kwargs": {"offset": 0.0}})
    w_in, w_out = np.array(r["W_in"]), np.array(r["W_out"])
    assert w_in.shape == (10, 20) and w_out.shape == (20, 10)
    assert np.array_equal(w_in, np.eye(10, 20)) and np.array_equal(w_out, np.eye(20, 10))


# --- determinism: pool vs serial ----------------------------------------------------------------------


def test_process_pool_and_serial_give_identical_results():
    configs = _eval_configs()
    serial = run_sweep(evaluate_point, configs, executor="serial", progress=False)
    pool = run_sweep(evaluate_point, configs, max_workers=2, progress=False)
    assert serial.points == pool.points
    assert (pool.computed, pool.cached, len(pool)) == (len(configs), 0, len(configs))
    # results carry the configs in order, and differ between configs (not one cached value)
    assert pool.configs == configs
    values = [r["loss_per_feature"] for r in pool.results]
    assert len(set(values)) > len(configs) // 2
    # a thread pool, a user-supplied Executor, agrees too
    with ThreadPoolExecutor(2) as ex:
        threads = run_sweep(evaluate_point, configs, executor=ex, progress=False)
    assert threads.points == serial.points


def test_pool_workers_do_not_oversubscribe_the_cores():
    before = dict(os.environ)
    res = run_sweep(threads_point, [{"i": i} for i in range(4)], max_workers=2, progress=False)
    assert dict(os.environ) == before  # the parent's environment is restored
    cores = os.cpu_count()
    for r in res.results:
        # one BLAS thread per worker unless the user chose otherwise; Numba gets cores // workers
        for name, value in r["env"].items():
            assert value == os.environ.get(name, "1"), name
        assert r["numba_threads"] == max(1, cores // 2)
    assert len({r["pid"] for r in res.results} | {os.getpid()}) >= 2  # ran in other processes


def test_duplicate_configs_computed_once(tmp_path):
    configs = _counting_configs(tmp_path, 3)
    res = run_sweep(counting_point, configs + configs[:2], executor="serial", progress=False)
    assert (res.computed, res.cached, len(res)) == (3, 0, 5)
    assert _counts(tmp_path / "counter.txt") == {0: 1, 1: 1, 2: 1}
    assert res.points[3] == res.points[0]


# --- the cache: resume, extend, corruption ---------------------------------------------------------


def test_cache_file_contents(tmp_path):
    configs = _counting_configs(tmp_path, 3)
    res = run_sweep(counting_point, configs, cache_dir=tmp_path / "cache", executor="serial", progress=False)
    files = sorted(os.listdir(tmp_path / "cache"))
    assert files == sorted(cache_key(counting_point, c) + ".json" for c in configs)  # no temporary files
    doc = json.loads((tmp_path / "cache" / (cache_key(counting_point, configs[2]) + ".json")).read_text())
    assert doc["config"] == configs[2] and doc["function"] == "test_sweep.counting_point"
    assert doc["result"] == {"i": 2, "square": 4, "arange": [0, 1], "half": 1.0}
    assert doc["ccsolve_version"] == cc.__version__
    assert datetime.fromisoformat(doc["timestamp"]).year >= 2024
    assert res.results[2] == doc["result"]


def test_interrupted_sweep_resumes_without_recomputing(tmp_path):
    n, k = 6, 3
    configs = _counting_configs(tmp_path, n, fail_at=k)
    cache = tmp_path / "cache"
    (tmp_path / "STOP").touch()
    with pytest.raises(PointError, match="simulated interruption") as info:
        run_sweep(counting_point, configs, cache_dir=cache, executor="serial", progress=False)
    assert info.value.config == configs[k] and isinstance(info.value.__cause__, RuntimeError)
    assert len(os.listdir(cache)) == k  # the points before the failure were saved as they finished
    os.remove(tmp_path / "STOP")
    res = run_sweep(counting_point, configs, cache_dir=cache, executor="serial", progress=False)
    assert (res.computed, res.cached) == (n - k, k)
    # every point computed exactly once overall, except the one that failed (tried twice)
    assert _counts(tmp_path / "counter.txt") == {i: (2 if i == k else 1) for i in range(n)}
    (tmp_path / "x").mkdir()
    fresh = run_sweep(counting_point, _counting_configs(tmp_path / "x", n), executor="serial", progress=False)
    assert [r["square"] for r in res.results] == [r["square"] for r in fresh.results] == [i * i for i in range(n)]
    again = run_sweep(counting_point, configs, cache_dir=cache, max_workers=2, progress=False)
    assert (again.computed, again.cached) == (0, n) and again.points == res.points


def test_pool_failure_keeps_finished_points_and_resumes(tmp_path):
    n, k = 6, 2
    configs = _counting_configs(tmp_path, n, fail_at=k, sleep=0.2)
    cache = tmp_path / "cache"
    (tmp_path / "STOP").touch()
    with pytest.raises(PointError, match="simulated interruption"):
        run_sweep(counting_point, configs, cache_dir=cache, max_workers=2, progress=False)
    first = _counts(tmp_path / "counter.txt")
    n_saved = len(os.listdir(cache))
    # the pool runs calls in order, so point k starts only after point 0 or 1 has finished
    assert 1 <= n_saved == sum(first.values()) - 1
    os.remove(tmp_path / "STOP")
    res = run_sweep(counting_point, configs, cache_dir=cache, max_workers=2, progress=False)
    assert (res.computed, res.cached) == (n - n_saved, n_saved)
    total = _counts(tmp_path / "counter.txt")
    assert total == {i: (2 if i == k else 1) for i in range(n)}
    assert [r["i"] for r in res.results] == list(range(n))


def test_worker_death_raises_point_error_and_resumes(tmp_path):
    from concurrent.futures.process import BrokenProcessPool

    n, k = 5, 2
    configs = _counting_configs(tmp_path, n, fail_at=k, sleep=0.1)
    cache = tmp_path / "cache"
    (tmp_path / "STOP").touch()
    with pytest.raises(PointError) as info:
        run_sweep(dying_point, configs, cache_dir=cache, max_workers=2, progress=False)
    assert isinstance(info.value.__cause__, BrokenProcessPool)
    saved = set(os.listdir(cache))
    os.remove(tmp_path / "STOP")
    res = run_sweep(dying_point, configs, cache_dir=cache, max_workers=2, progress=False)
    assert (res.computed, res.cached) == (n - len(saved), len(saved))
    counts = _counts(tmp_path / "counter.txt")
    for c in configs:
        if cache_key(dying_point, c) + ".json" in saved:
            assert counts[c["i"]] == 1  # saved before the crash: not recomputed
    assert counts[k] == 2 and [r["square"] for r in res.results] == [i * i for i in range(n)]


def test_killed_sweep_resumes_from_its_cache(tmp_path):
    """A sweep process killed with SIGKILL mid-run: what finished is on disk, the rest is computed."""
    n = 8
    configs = _counting_configs(tmp_path, n, sleep=0.3)
    cache = tmp_path / "cache"
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {TESTS_DIR!r})
        from test_sweep import counting_point
        from ccsolve.sweep import run_sweep
        run_sweep(counting_point, json.loads({json.dumps(json.dumps(configs))}), cache_dir={str(cache)!r},
                  executor="serial", progress=False)
    """))
    proc = subprocess.Popen([sys.executable, str(script)], stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while sum(_counts(tmp_path / "counter.txt").values()) < 3 and time.time() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    saved = {f for f in os.listdir(cache) if f.endswith(".json")}
    assert 2 <= len(saved) < n
    res = run_sweep(counting_point, configs, cache_dir=cache, executor="serial", progress=False)
    assert (res.computed, res.cached) == (n - len(saved), len(saved))
    counts = _counts(tmp_path / "counter.txt")
    cached_i = [c["i"] for c in configs if cache_key(counting_point, c) + ".json" in saved]
    assert all(counts[i] == 1 for i in cached_i)  # cached points were not recomputed
    assert sorted(counts) == list(range(n)) and sum(v == 2 for v in counts.values()) <= 1  # the killed one
    assert [r["square"] for r in res.results] == [i * i for i in range(n)]


def test_extended_sweep_computes_only_the_new_points(tmp_path):
    configs = _counting_configs(tmp_path, 6)
    cache = tmp_path / "cache"
    part = run_sweep(counting_point, configs[::2], cache_dir=cache, executor="serial", progress=False)
    assert (part.computed, part.cached) == (3, 0)
    full = run_sweep(counting_point, configs, cache_dir=cache, max_workers=2, progress=False)
    assert (full.computed, full.cached) == (3, 3)
    assert _counts(tmp_path / "counter.txt") == {i: 1 for i in range(6)}
    assert full.results[::2] == part.results


def test_corrupt_cache_files_are_ignored_and_recomputed(tmp_path):
    configs = _counting_configs(tmp_path, 5)
    cache = tmp_path / "cache"
    first = run_sweep(counting_point, configs, cache_dir=cache, executor="serial", progress=False)
    path = [cache / (cache_key(counting_point, c) + ".json") for c in configs]
    path[0].write_text(path[0].read_text()[:40])  # truncated: invalid JSON
    doc = json.loads(path[1].read_text())
    doc["config"]["i"] = 99  # valid JSON, but not this point's config
    path[1].write_text(json.dumps(doc))
    path[2].write_bytes(b"\xff\xfe\x00garbage")
    with pytest.warns(RuntimeWarning, match="3 unreadable or inconsistent cache file"):
        res = run_sweep(counting_point, configs, cache_dir=cache, executor="serial", progress=False)
    assert (res.computed, res.cached, res.corrupt) == (3, 2, 3)
    assert res.points == first.points
    assert _counts(tmp_path / "counter.txt") == {0: 2, 1: 2, 2: 2, 3: 1, 4: 1}
    # the files were repaired
    again = run_sweep(counting_point, configs, cache_dir=cache, executor="serial", progress=False)
    assert (again.computed, again.cached, again.corrupt) == (0, 5, 0)


def test_progress_bar_over_points(tmp_path, capsys):
    configs = _counting_configs(tmp_path, 3)
    run_sweep(counting_point, configs, cache_dir=tmp_path / "c", executor="serial", progress=True)
    assert "3/3" in capsys.readouterr().err
    run_sweep(counting_point, configs, cache_dir=tmp_path / "c", executor="serial", progress=False)
    assert capsys.readouterr().err == ""


# --- Dask (optional extra) -------------------------------------------------------------------------


def test_dask_local_cluster_gives_the_same_sweep(tmp_path):
    distributed = pytest.importorskip("dask.distributed")
    configs = _eval_configs()[:8]
    serial = run_sweep(evaluate_point, configs, executor="serial", progress=False)
    # in-process workers keep the test fast; docs/sweeps.md runs the same through worker processes
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        res = run_sweep(evaluate_point, configs, executor=client.get_executor(), cache_dir=tmp_path,
                        progress=False)
    assert res.points == serial.points and (res.computed, res.cached) == (8, 0)
    resumed = run_sweep(evaluate_point, configs, executor="serial", cache_dir=tmp_path, progress=False)
    assert (resumed.computed, resumed.cached) == (0, 8) and resumed.points == serial.points


# --- train_point -----------------------------------------------------------------------------------


def test_train_point_passes_config_to_the_trainer(monkeypatch):
    calls = []

    import dataclasses

    from ccsolve.core.results import Result

    @dataclasses.dataclass(frozen=True)
    class FakeResult(Result):
        weights: object
        losses: np.ndarray = dataclasses.field(default_factory=lambda: np.array([0.2, 0.1]))
        seconds: float = 1.5
        steps: int = 2

    def fake_train(task, steps=10, seed=None, progress=True, lr=1e-3):
        calls.append(dict(task=task, steps=steps, seed=seed, progress=progress, lr=lr))
        from ccsolve import constructions

        return FakeResult(constructions.naive(task))

    from ccsolve.apps import points

    monkeypatch.setattr(points, "train", fake_train)
    cfg = {"mixing": "clean", "n_features": 20, "n_neurons": 10, "seed": 4, "one_hot": True,
           "method": "exact", "train": {"steps": 7, "lr": 0.01}}
    r = sweep.train_point(cfg)
    assert calls[0]["steps"] == 7 and calls[0]["seed"] == 4 and calls[0]["progress"] is False
    assert calls[0]["lr"] == 0.01 and calls[0]["task"] == make_task(cfg)
    assert r["construction"] == "trained" and r["loss_per_feature"] == pytest.approx(1 / 12, abs=1e-15)
    assert r["train"] == {"steps": 2, "final_train_loss": 0.1}  # timings left out
    with pytest.raises(ValueError, match="unknown config key"):
        sweep.train_point({**cfg, "construction": "naive"})


# --- validation ------------------------------------------------------------------------------------


def test_lambdas_and_local_functions_are_refused_where_they_cannot_work(tmp_path):
    cfgs = [{"i": 1}]
    with pytest.raises(TypeError, match="picklable top-level function"):
        run_sweep(lambda c: {}, cfgs, progress=False)
    with pytest.raises(ValueError, match="cannot be cached"):
        run_sweep(lambda c: {}, cfgs, cache_dir=tmp_path, executor="serial", progress=False)
    # serial without a cache: fine
    res = run_sweep(lambda c: {"x": c["i"] + 1}, cfgs, executor="serial", progress=False)
    assert res.results == [{"x": 2}]


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(fn="not callable"), TypeError, "fn must be callable"),
        (dict(executor="threads"), TypeError, "executor must be None"),
        (dict(executor=3), TypeError, "executor must be None"),
        (dict(max_workers=0), ValueError, "max_workers must be >= 1"),
        (dict(max_workers=2.0), TypeError, "max_workers must be an integer"),
        (dict(executor="serial", max_workers=2), ValueError, "max_workers applies"),
        (dict(executor="serial", max_workers=1, configs=[{"i": 1}, 2]), TypeError, r"configs\[1\]"),
        (dict(configs={"i": 1}), TypeError, "configs must be a list of dicts"),
        (dict(configs=5), TypeError, "configs must be a list of dicts"),
        (dict(configs=[{"i": 1}, 3]), TypeError, r"configs\[1\] must be a dict"),
        (dict(configs=[{1: 2}]), TypeError, r"configs\[0\] keys must be strings"),
        (dict(configs=[{"i": float("nan")}]), ValueError, r"configs\[0\] must be JSON-serialisable without NaN"),
        (dict(configs=[{"i": object()}]), TypeError, r"configs\[0\] must be JSON-serialisable"),
        (dict(progress="yes"), TypeError, "progress must be a bool"),
    ],
)
def test_run_sweep_validation(kwargs, exc, match):
    args = dict(fn=counting_point, configs=[{"i": 1}], executor="serial", progress=False)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        run_sweep(args.pop("fn"), args.pop("configs"), **args)


def test_user_executor_refuses_max_workers():
    with ThreadPoolExecutor(1) as ex, pytest.raises(ValueError, match="size your own executor"):
        run_sweep(counting_point, [{"i": 1}], executor=ex, max_workers=2, progress=False)


def test_point_returning_a_non_dict_raises_point_error():
    with pytest.raises(PointError, match="must return a dict") as info:
        run_sweep(not_a_dict_point, [{"i": 1}], executor="serial", progress=False)
    assert info.value.config == {"i": 1} and isinstance(info.value.__cause__, TypeError)


@pytest.mark.parametrize(
    "config, exc, match",
    [
        ({"mixing": "gaussian"}, ValueError, r"config\['mixing'\] must be one of"),
        ({}, ValueError, "config needs 'mixing'"),
        ({"mixing": "clean", "construction": "svd_magic"}, ValueError, r"config\['construction'\] must name"),
        ({"mixing": "clean", "construction": "_private"}, ValueError, r"config\['construction'\] must name"),
        ({"mixing": "clean", "construction": "np"}, ValueError, r"config\['construction'\] must name"),
        ({"mixing": "clean", "construction_kwargs": [1]}, TypeError, "construction_kwargs"),
        ({"mixing": "clean", "sigam": 0.1}, ValueError, r"unknown config key\(s\) \['sigam'\]"),
        ({"mixing": "random", "sigma": -1}, ValueError, "sigma must be >= 0"),
        ({"mixing": "clean", "p": 0}, ValueError, "p must be in"),
        ({"mixing": "embedding", "sign": 2, "n_features": 5, "d_embed": 5}, ValueError, "sign must be"),
        ({"mixing": "random", "zero_diagonal": "no"}, TypeError, "zero_diagonal must be a bool"),
        ({"mixing": "clean", "method": "exact"}, ValueError, "needs a one-hot task"),
        ({"mixing": "clean", "return_weights": 1, "one_hot": True, "method": "exact"}, TypeError,
         "return_weights must be a bool"),
    ],
)
def test_evaluate_point_validation(config, exc, match):
    with pytest.raises(exc, match=match):
        evaluate_point({"n_features": 10, "n_neurons": 5, "n_samples": 100, **config})
    with pytest.raises(TypeError, match="config must be a dict"):
        evaluate_point([("mixing", "clean")])
