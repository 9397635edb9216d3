"""BLAS thread control shared by the public entry points (private).

ccsolve's computations that call BLAS/LAPACK (NumPy's and SciPy's bundled OpenBLAS, and Numba's
np.dot, which calls SciPy's) run it on one thread, for two measured reasons:

- reproducibility: OpenBLAS splits some products differently with 1 and 2 threads, so the rounding,
  and through an optimiser's path the result, depended on the BLAS thread count (on the 2-core machine
  minimize_exact at p = 0.01 ended at L/p 0.063301 with OPENBLAS_NUM_THREADS=1 and 0.063295 without;
  train, snmf and minimize_one_hot gave different weights too). With one thread inside every decorated
  entry point, the same seed gives the same result whatever the user's BLAS or Numba thread settings;
- speed: the products are small (10^5-10^7 flops); OpenBLAS's pool gains little there and, on a busy
  machine, its spinning threads made them 5-100x slower (docs/benchmarks.md).

The limit is process-wide (BLAS pools are), so it is reference-counted under a lock: nested calls and
calls overlapping from several Python threads (a thread-pool sweep) share one limit, set by the first
entry and restored by the last exit. Limited are the BLAS libraries loaded when ccsolve first needs
one (NumPy's, SciPy's, and any loaded before); one loaded later by another package (a solver's own
OpenBLAS) is not. The dense NumPy baselines (train_dense_numpy, dense_numpy_loss) are not decorated:
they run with the caller's BLAS settings, as the reference would. Caveat, measured with OpenBLAS
0.3.31: once the main thread has set a thread count, a change made from another thread is ignored, so
in a thread-pool sweep set OPENBLAS_NUM_THREADS=1 before starting (ccsolve.sweep's process pool does).
"""

from __future__ import annotations

import contextlib
import functools
import threading

_LOCK = threading.Lock()
_STATE = {"controller": None, "depth": 0, "limiter": None}


def _controller():
    if _STATE["controller"] is None:
        import numpy  # noqa: F401  (loads NumPy's OpenBLAS)
        import scipy.linalg.cython_blas  # noqa: F401  (loads SciPy's, the one Numba's np.dot calls)
        from threadpoolctl import ThreadpoolController

        # created once: inspecting the loaded libraries costs ~5 ms, a limit through it ~20 us
        _STATE["controller"] = ThreadpoolController()
    return _STATE["controller"]


@contextlib.contextmanager
def single_threaded_blas():
    """Run the block with the BLAS libraries limited to one thread (restored after the last
    overlapping block ends)."""
    with _LOCK:
        if _STATE["depth"] == 0:
            _STATE["limiter"] = _controller().limit(limits=1, user_api="blas")
        _STATE["depth"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _STATE["depth"] -= 1
            if _STATE["depth"] == 0:
                limiter, _STATE["limiter"] = _STATE["limiter"], None
                limiter.restore_original_limits()


def one_blas_thread(func):
    """Decorator: run `func` inside single_threaded_blas()."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with single_threaded_blas():
            return func(*args, **kwargs)

    return wrapper
