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
            assert isinstance(a, (bool, int, float))


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
