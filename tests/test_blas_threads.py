"""Results do not depend on the BLAS thread count (ccsolve._blas).

OpenBLAS rounds some products differently on 1 and 2 threads; an optimiser or trainer amplifies that
into different weights. Every public entry point pins BLAS to one thread, so the same seed must give
bit-identical results whatever limit the caller has set.
"""

import numpy as np
from threadpoolctl import threadpool_limits

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


def test_results_identical_for_1_and_2_blas_threads():
    with threadpool_limits(limits=2, user_api="blas"):
        two = _results()
    with threadpool_limits(limits=1, user_api="blas"):
        one = _results()
    for name in two:
        np.testing.assert_array_equal(two[name], one[name], err_msg=name)
