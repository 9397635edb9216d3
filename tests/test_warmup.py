"""ccsolve.warmup: its argument specs still fit the kernels (no compile here: cheap), bad names are errors.

That the specs give exactly the call sites' signatures (a compare run after warm-up compiles nothing) was
checked by running the command (docs/benchmarks.md, "Cold start"); tests/test_cache_reuse.py checks the
on-disk cache is reused."""

import inspect

import numpy as np
import pytest

from ccsolve import warmup


@pytest.mark.parametrize("name", sorted(warmup.KERNELS))
def test_spec_matches_kernel_parameters(name):
    disp = warmup._dispatcher(name)
    args = warmup.KERNELS[name][2]()
    params = inspect.signature(disp.py_func).parameters
    assert len(args) == len(params), f"{name}: spec has {len(args)} arguments, kernel takes {len(params)}"
    for a in args:  # one dtype and layout per argument: float64/int64/uint64/bool, C-contiguous
        if isinstance(a, np.ndarray):
            assert a.flags.c_contiguous and a.dtype in (np.float64, np.int64, np.uint64, np.bool_)
        else:
            assert isinstance(a, (bool, int, float, np.uint64))  # uint64: a SeedSequence state word


def test_kernels_for_compare():
    full = warmup.kernels_for("compare")
    assert set(full) >= {"sparse_block", "strata_chunks", "pair_blocks", "nnls_gram"}
    assert "sparse_block" not in warmup.kernels_for("compare", train=False)
    assert "strata_chunks" not in warmup.kernels_for("compare", one_hot=True)


def test_bad_names():
    with pytest.raises(ValueError, match="unknown kernel"):
        warmup.warm(["no_such_kernel"], progress=False)
    with pytest.raises(ValueError, match="command"):
        warmup.kernels_for("nope")


def test_split_balances_by_cost():
    names = list(warmup.kernels_for("compare"))
    groups = warmup._split(names, 2)
    assert sorted(sum(groups, [])) == sorted(names)
    # the two most expensive kernels are compiled by different processes
    top2 = sorted(names, key=lambda n: -warmup.KERNELS[n][3])[:2]
    assert not any(set(top2) <= set(g) for g in groups)


def test_specs_are_the_call_sites_signatures():
    """Each spec's Numba signature is the one the package's call sites compile (dtype, layout and
    read-only flags): a wrong spec would make warm-up compile a signature nothing calls. Tiny calls of
    every entry point, then each kernel's signatures are compared with its spec (the test-only oracle
    kernels are compared with the tests' own calls in tests/test_moments.py and tests/test_loss.py)."""
    import ccsolve as cc
    from ccsolve import residual as R
    from ccsolve.constructions import minimize_exact, optimal_readout, snmf
    from ccsolve.evaluation.moments import moments_loss
    from ccsolve.training.trainer import sparse_gradients

    m = cc.mixing.embedding(6, 20, seed=0)
    task = cc.Task(m, 3, 0.2)
    cc.train(task, steps=2, batch_size=64, progress=False, path="sparse")
    cc.train(task, steps=2, batch_size=64, progress=False, path="dense")
    w = cc.constructions.svd(task)
    x = np.random.default_rng(0).uniform(-1, 1, (8, 6)) * (np.random.default_rng(1).random((8, 6)) < 0.3)
    sparse_gradients(x, w.W_in.T, w.W_out, 0.0, np.asarray(m), True)
    for p in (0.1, 0.9):
        cc.loss_per_feature(w, task.with_p(p), method="monte_carlo", n_samples=1 << 12)
    cc.loss_per_feature(w, cc.Task(m, 3, one_hot=True), method="monte_carlo", n_samples=1 << 12)
    cc.loss_per_feature(w, task, method="stratified", tol=1e-2)
    moments_loss(w, task.with_p(0.5), tol=1e-4, grad=True)
    snmf(task)
    snmf(task, recipe="reference", seed=0)
    optimal_readout(w.W_in, task, n_samples=1 << 12)
    minimize_exact(task, init="svd", maxiter=2, n_tail_samples=256, eval_tol=1e-2)
    rt = R.ResidualTask(n_features=6, d_embed=6, n_layers=1, d_mlp=3, p=0.2, seed=0)
    R.train(rt, steps=2, batch_size=32, progress=False)
    oracles = {"one_dim", "two_dim", "grad_two_dim", "sample_error", "dense_inputs"}
    for name in sorted(set(warmup.KERNELS) - oracles):
        sigs = warmup._dispatcher(name).signatures
        assert warmup._signature(name) in sigs, f"{name}: spec {warmup._signature(name)} not in {sigs}"
