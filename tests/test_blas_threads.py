"""Results do not depend on the BLAS thread count (ccsolve._blas).

OpenBLAS rounds some products differently on 1 and 2 threads; an optimiser or trainer amplifies that
into different weights. Every public entry point pins BLAS to one thread, so the same seed must give
bit-identical results whatever limit the caller has set.
"""

import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import ccsolve
from ccsolve.constructions import minimize_exact, minimize_one_hot, snmf


def _results():
    M = ccsolve.mixing.embedding(100, 1000, seed=0)
    out = {"mixing": M}
    for p in (0.01, 1.0):  # sparse and dense training paths
        w = ccsolve.train(ccsolve.Task(M, 50, p), steps=60, progress=False).weights
        out[f"train p={p}"] = np.concatenate([w.W_in.ravel(), w.W_out.ravel()])
    task = ccsolve.Task(M, 50, 0.01)
    for name, w in (("snmf", snmf(task).weights),
                    ("minimize_one_hot", minimize_one_hot(task, init="snmf", max_iter=40).weights),
                    ("minimize_exact", minimize_exact(task, init="svd", maxiter=5, n_tail_samples=2048,
                                                      eval_tol=1e-3).weights)):
        out[name] = np.concatenate([w.W_in.ravel(), w.W_out.ravel()])
    out["loss p=0.5"] = np.array([ccsolve.loss_per_feature(ccsolve.constructions.svd(task), ccsolve.Task(M, 50, 0.5),
                                                           method="monte_carlo", n_samples=1 << 16).value])
    return out


def _blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_results_identical_for_1_and_2_blas_threads():
    with threadpool_limits(limits=2, user_api="blas"):
        if not _blas_threads() or max(_blas_threads()) < 2:
            pytest.skip("this BLAS does not run 2 threads here: nothing to compare")
        two = _results()
    with threadpool_limits(limits=1, user_api="blas"):
        one = _results()
    for name in two:
        np.testing.assert_array_equal(two[name], one[name], err_msg=name)


def test_limit_is_shared_by_overlapping_threads_and_restored(monkeypatch):
    """Overlapping calls from two Python threads share one limit: set by the first entry, restored by
    the last exit (a per-call save/restore would restore too early and then leave 1 for good).
    Checked on a recording controller: whether OpenBLAS honours a change made from a non-main thread
    is OpenBLAS's business (module doc of ccsolve._blas)."""
    from ccsolve.core import blas as _blas

    events = []

    class Limiter:
        def restore_original_limits(self):
            events.append("restore")

    class Controller:
        def limit(self, limits, user_api):
            assert (limits, user_api) == (1, "blas")
            events.append("limit")
            return Limiter()

    monkeypatch.setitem(_blas._STATE, "controller", Controller())
    entered, second_left = threading.Barrier(2), threading.Event()
    seen = {}

    def first():
        with _blas.single_threaded_blas():
            entered.wait()
            second_left.wait()
            seen["while first still inside"] = list(events)

    def second():
        with _blas.single_threaded_blas():
            entered.wait()
        second_left.set()

    ts = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert seen["while first still inside"] == ["limit"]
    assert events == ["limit", "restore"]
    assert _blas._STATE["depth"] == 0 and _blas._STATE["limiter"] is None

    @_blas.one_blas_thread
    def nested():
        with _blas.single_threaded_blas():
            return list(events)

    assert nested() == ["limit", "restore", "limit"]
    assert events == ["limit", "restore", "limit", "restore"]
