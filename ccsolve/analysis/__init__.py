"""Measurements of a solution's structure (layer 3), as arrays; plots are in ccsolve.plots.

structure.py: the post's figure diagnostics (one-hot response, per-feature weight bars, eigen/singular
alignment, W_out W_in against M, per-neuron contributions).
"""

from .structure import *  # noqa: F401,F403
from .structure import __all__ as _structure_all

__all__ = list(_structure_all)

from . import mechanism  # noqa: E402,F401  (mechanism.py: sparsity, signs, product fit, interference)
