"""Hand-built solutions (layer 3): each function takes a Task and returns Weights, or a result carrying them.

naive, naive_offset      identity on n_neurons features (+ the optimal constant offset)   simple.py
svd                      truncated SVD of I + M (or M + alpha I, or M), the reference's sign rule   spectral.py
dense_offset             naive + offset generalised to M != 0: one neuron per feature, exact readout at p   dense.py
snmf                     semi-NMF of I + M with W_in >= 0: the exact one-hot optimum over W_in >= 0   semi_nmf.py
optimal_readout          least-squares W_out for given W_in (one-hot: exact; Bernoulli p: moments)   readout.py
summarize                one-hot loss, lower bound, gap (and L/p at task.p on request)   report.py

The optimisers (minimize_one_hot, minimize_exact: ccsolve.optimize) and the one-hot loss with its gradient
(ccsolve.evaluation.one_hot) are also reachable from here, as they were before the package was split.
Column convention: y_hat = W_out ReLU(W_in x). Derivations: docs/math.md, section "Constructions".
"""

from ..evaluation.one_hot import one_hot_loss_and_gradient, reduced_one_hot_loss_and_gradient
from .dense import DenseOffsetResult, dense_offset, dense_offset_loss
from .readout import optimal_readout
from .report import Summary, summarize
from .semi_nmf import SNMFResult, kkt_residual, snmf
from .simple import naive, naive_offset
from .spectral import svd

__all__ = [
    "naive",
    "naive_offset",
    "dense_offset",
    "dense_offset_loss",
    "DenseOffsetResult",
    "svd",
    "snmf",
    "optimal_readout",
    "minimize_one_hot",
    "summarize",
    "kkt_residual",
    "one_hot_loss_and_gradient",
    "reduced_one_hot_loss_and_gradient",
    "Summary",
    "SNMFResult",
    "MinimizeResult",
    "minimize_exact",
    "ExactMinimizeResult",
    "parametric",
    "ParametricResult",
]

# names that live in the optimisation layer above this one: resolved on first use, so that importing
# ccsolve.constructions never imports ccsolve.optimize (the layering test allows exactly these)
_FORWARDS = {
    "minimize_one_hot": "ccsolve.optimize.one_hot",
    "MinimizeResult": "ccsolve.optimize.one_hot",
    "minimize_exact": "ccsolve.optimize.exact",
    "ExactMinimizeResult": "ccsolve.optimize.exact",
    "parametric": "ccsolve.optimize.parametric",
    "ParametricResult": "ccsolve.optimize.parametric",
}


def __getattr__(name):
    if name in _FORWARDS:
        import importlib

        return getattr(importlib.import_module(_FORWARDS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
