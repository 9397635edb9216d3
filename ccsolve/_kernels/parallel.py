"""The parallel options of every parallel kernel (private): prange loops only.

`parallel=True` also turns every NumPy call and array expression in the kernel (np.zeros, np.arange,
`a += b`, `a[i0:i1] *= s`, ...) into a parallel loop of its own, each outlined and compiled as a
separate function; in these kernels those are small initialisations inside or around the prange loops,
where parallelism buys nothing, but they cost compile time (issue 17). With this only the explicit
prange loops run in parallel; the rest is ordinary serial code (same results).

A ParallelOptions object, not a dict: Numba pops the keys of a dict it is given, so a dict shared by
several kernels (or a second signature of one) would silently fall back to parallel=True.
"""

from numba.core.cpu_options import ParallelOptions

PRANGE_ONLY = ParallelOptions({"prange": True, "numpy": False, "setitem": False, "inplace_binop": False,
                               "comprehension": False, "reduction": False, "stencil": False, "fusion": False})
