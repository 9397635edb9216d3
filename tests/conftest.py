import os
import sys

# Small matrices everywhere: threaded BLAS only adds spin-wait overhead (and last-bit differences)
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pytest

sys.path.insert(0, os.path.dirname(__file__))

from hypothesis import settings

settings.register_profile("ccsolve", deadline=None, max_examples=25, derandomize=True)
settings.load_profile("ccsolve")

# Kernels in the order the suite first calls them (measured: a pytest plugin recording, after each test,
# which ccsolve._kernels dispatchers had gained a signature). The first test (test_blas_threads) calls the
# first 14; the trainer's sparse_block alone is about 19 s of a 45 s compile there. On a cold Numba cache
# one background process compiles into the shared on-disk cache while the tests run (and compile what
# they need first) on the other core: first that test's later kernels (pair_split_blocks .. dense_chunks,
# needed about 20 s in), then test_constructions' (about 45 s in), then the rest from the last-needed end.
# Whichever process gets to a kernel first compiles it; the other loads it from the cache. Only a speed
# heuristic: results do not depend on it. Suite on an empty cache: docs/benchmarks.md "Cold start".
# CCSOLVE_TEST_PRECOMPILE=0 turns it off.
_FIRST_USE = ("sparse_block", "draw_batch", "adamw", "csr_to_dense", "nnls_gram", "spd_solve",
              "pair_split_blocks", "gather", "scatter", "draw_stratum", "tail_blocks", "strata_chunks",
              "pair_blocks", "dense_chunks", "cd_nmf_update", "moments_chunks", "prepare", "bernoulli_chunks",
              "one_hot_chunks", "sample_error", "dense_inputs", "trig_tables", "one_dim_fast", "two_dim_fast",
              "grad_one_dim", "grad_two_dim_fast", "one_dim", "two_dim", "grad_two_dim", "draw_rows",
              "batch_gradient", "output_gradient")
_BACKGROUND = []


def _background_order(kernels) -> list:
    first = [n for n in _FIRST_USE if n in kernels] + [n for n in kernels if n not in _FIRST_USE]
    # pair_split_blocks .. dense_chunks, then test_constructions' kernels up to bernoulli_chunks
    i, k = first.index("pair_split_blocks"), first.index("bernoulli_chunks") + 1
    return first[i:k] + first[k:][::-1] + first[:i][::-1]


def pytest_sessionstart(session):
    if os.environ.get("CCSOLVE_TEST_PRECOMPILE", "1") == "0" or hasattr(session.config, "workerinput"):
        return
    from ccsolve import warmup

    missing = [n for n in _background_order(warmup.KERNELS) if not warmup.is_cached(n)]
    if missing:
        _BACKGROUND.append(warmup.compile_in_background(missing))


def pytest_sessionfinish(session):
    while _BACKGROUND:
        _BACKGROUND.pop().close()


@pytest.fixture(scope="session")
def embedding_m():
    import ccsolve

    return ccsolve.mixing.embedding(100, 1000, seed=1)
