"""BLAS thread control shared by the public entry points (private).

Every ccsolve computation that calls BLAS/LAPACK (NumPy's and SciPy's bundled OpenBLAS, and Numba's
np.dot, which calls SciPy's) runs it on one thread, for two measured reasons:

- reproducibility: OpenBLAS splits some products differently with 1 and 2 threads, so the rounding,
  and through an optimiser's path the result, depended on the BLAS thread count (on the 2-core machine
  minimize_exact at p = 0.01 ended at L/p 0.063301 with OPENBLAS_NUM_THREADS=1 and 0.063295 without;
  train, snmf and minimize_one_hot gave different weights too). With one thread inside every entry
  point, the same seed gives the same result whatever the user's BLAS or Numba thread settings;
- speed: the products are small (10^5-10^7 flops); OpenBLAS's pool gains little there and, on a busy
  machine, its spinning threads made them 5-100x slower (docs/benchmarks.md).

The limit is scoped (restored on exit) and nests; threadpoolctl does the work for every BLAS loaded.
"""

from __future__ import annotations

import contextlib
import functools

_CONTROLLER: list = []


def _controller():
    if not _CONTROLLER:
        import numpy  # noqa: F401  (loads NumPy's OpenBLAS)
        import scipy.linalg.cython_blas  # noqa: F401  (loads SciPy's, the one Numba's np.dot calls)
        from threadpoolctl import ThreadpoolController

        # created once: inspecting the loaded libraries costs ~5 ms, a limit through it ~20 us
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0]


@contextlib.contextmanager
def single_threaded_blas():
    """Run the block with every loaded BLAS limited to one thread (restored afterwards)."""
    with _controller().limit(limits=1, user_api="blas"):
        yield


def one_blas_thread(func):
    """Decorator: run `func` inside single_threaded_blas()."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with single_threaded_blas():
            return func(*args, **kwargs)

    return wrapper
