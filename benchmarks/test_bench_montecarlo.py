"""pytest-benchmark variant of bench_montecarlo.py (not part of the test suite: testpaths = tests).

Run:  python -m pytest benchmarks/test_bench_montecarlo.py --benchmark-only --benchmark-group-by=param:model,param:p
Each group holds ccsolve's monte_carlo and the dense NumPy baseline on the same fixture; compare the
"OPS" column times the sample count (extra_info["samples"]) for samples/s.
"""

from __future__ import annotations

import pytest

pytest.importorskip("pytest_benchmark")

import ccsolve.evaluation.montecarlo as L  # noqa: E402
import ccsolve as cc  # noqa: E402
from bench_montecarlo import N_NEURONS, fixtures, warm_up  # noqa: E402

# samples per timed call: about 0.1-0.5 s for each contender on the 2-core benchmark machine
SAMPLES = {
    ("ccsolve", 0.01): 1 << 22,
    ("ccsolve", 1.0): 1 << 16,
    ("dense_numpy", 0.01): 1 << 16,
    ("dense_numpy", 1.0): 1 << 16,
}


@pytest.fixture(scope="module")
def setup():
    m, models = fixtures()
    for w in models.values():
        warm_up(m, w)
    return m, models


@pytest.mark.parametrize("impl", ["ccsolve", "dense_numpy"])
@pytest.mark.parametrize("p", [0.01, 1.0])
@pytest.mark.parametrize("model", ["trained-like", "naive"])
def test_throughput(benchmark, setup, model, p, impl):
    m, models = setup
    w, task = models[model], cc.Task(m, N_NEURONS, p)
    n = SAMPLES[(impl, p)]
    f = L.monte_carlo if impl == "ccsolve" else L.dense_numpy_loss
    benchmark.extra_info["samples"] = n
    est = benchmark.pedantic(f, args=(w, task, n, 0), rounds=5, iterations=1, warmup_rounds=1)
    benchmark.extra_info["samples_per_second"] = n / benchmark.stats.stats.min
    assert est.n_samples == n
