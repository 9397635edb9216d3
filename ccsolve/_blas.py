"""BLAS thread control shared by the kernels' Python layers (private).

The small per-step products of the trainer and the Monte Carlo evaluator's dense chunks run on one
BLAS thread: their sizes gain nothing from OpenBLAS's pool and its spinning threads slowed them 5-10x
on a busy machine (docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib


@contextlib.contextmanager
def single_threaded_blas():
    """Run the sparse path's small BLAS products on one thread.

    They are 10^5-10^6 flops each: OpenBLAS's thread pool gains little there and, on a busy machine,
    its spinning threads made a step 5-10x slower. Uses threadpoolctl when installed, else the
    thread setter of SciPy's bundled OpenBLAS (the BLAS that Numba's np.dot calls); a no-op if
    neither is found.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is not None:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
        return
    funcs = _scipy_openblas_threads()
    if funcs is None:
        yield
        return
    get, set_ = funcs
    before = get()
    set_(1)
    try:
        yield
    finally:
        set_(before)


_OPENBLAS_FUNCS: list = []


def _scipy_openblas_threads():
    if _OPENBLAS_FUNCS:
        return _OPENBLAS_FUNCS[0]
    found = None
    try:
        import ctypes
        import glob
        import os

        import scipy
        import scipy.linalg.cython_blas  # noqa: F401  (loads the library)

        libdir = os.path.join(os.path.dirname(os.path.dirname(scipy.__file__)), "scipy.libs")
        for path in sorted(glob.glob(os.path.join(libdir, "libscipy_openblas*.so*"))):
            lib = ctypes.CDLL(path)
            for get, set_ in (("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
                              ("openblas_get_num_threads", "openblas_set_num_threads")):
                if hasattr(lib, get) and hasattr(lib, set_):
                    g, s = getattr(lib, get), getattr(lib, set_)
                    g.restype = ctypes.c_int
                    s.argtypes = [ctypes.c_int]
                    found = (g, s)
                    break
            if found:
                break
    except Exception:  # any platform without SciPy's OpenBLAS: leave the BLAS alone
        found = None
    _OPENBLAS_FUNCS.append(found)
    return found
