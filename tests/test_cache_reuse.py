"""A second process reuses Numba's on-disk cache (cache=True): it loads every kernel and compiles none.

Two fresh processes share one empty temporary NUMBA_CACHE_DIR and run the same small kernel-using work:
a one-hot Monte Carlo loss (a parallel kernel with inlined RNG helpers) and an AdamW step (a kernel
calling another kernel). Numba's per-dispatcher statistics (dispatcher.stats.cache_misses = compiled,
cache_hits = loaded from disk) must show compiles in the first process (so the check can fail) and none in
the second, with the same results.
"""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import json
import numpy as np
import ccsolve as cc
from numba.core.registry import CPUDispatcher
from ccsolve._kernels import montecarlo, rng, train as ktrain

rs = np.random.default_rng(0)
w = cc.Weights(rs.normal(size=(3, 6)), rs.normal(size=(6, 3)))
task = cc.Task(np.zeros((6, 6)), 3, 0.1, one_hot=True)
est = cc.loss_per_feature(w, task, method="monte_carlo", n_samples=5000, seed=3)
param = np.ones((4, 3)); grad = np.full((4, 3), 0.5); m = np.zeros((4, 3)); v = np.zeros((4, 3))
ktrain.adamw(param, grad, m, v, 0.01, 0.0, 0.9, 0.999, 1e-8, 1)
stats = {}
for mod in (montecarlo, rng, ktrain):
    for name, obj in vars(mod).items():
        if isinstance(obj, CPUDispatcher) and obj.signatures:
            s = obj.stats
            stats[mod.__name__ + "." + name] = [sum(s.cache_misses.values()), sum(s.cache_hits.values())]
print(json.dumps({"value": est.value, "param": param.tolist(), "stats": stats}))
"""


def _run(cache_dir):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache_dir))
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_second_process_compiles_nothing(tmp_path):
    first = _run(tmp_path)
    second = _run(tmp_path)
    top = ("ccsolve._kernels.montecarlo.one_hot_chunks", "ccsolve._kernels.train.adamw")
    for name in top:
        assert first["stats"][name][0] >= 1, f"{name} was not compiled in the cold process: {first['stats']}"
    assert os.listdir(tmp_path), "nothing was written to NUMBA_CACHE_DIR"
    compiled_again = {k: s for k, s in second["stats"].items() if s[0] > 0}
    assert not compiled_again, f"compiled again in the second process (cache not reused): {compiled_again}"
    for name in top:
        assert second["stats"][name][1] >= 1, f"{name} was not loaded from the cache: {second['stats']}"
    # (callees such as train._adamw_flat are linked into their caller's cached code: not loaded separately)
    # the cached code computes the same numbers (same seed)
    assert second["value"] == first["value"]
    assert second["param"] == first["param"]
