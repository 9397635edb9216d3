"""ccsolve: exact losses, hand-built solutions, bounds and a fast trainer for the
compressed-computation toy model (y = ReLU(x) + M x, one bias-free ReLU layer).

Column convention throughout: y_hat = W_out @ ReLU(W_in @ x), W_in (n_neurons, n_features),
W_out (n_features, n_neurons); batches are (n_features, n_samples).
"""

__version__ = "0.1.0"

import os as _os

# Numba's OpenMP threads sleep between parallel regions instead of spinning (read when Numba starts its
# thread pool; a user's own setting wins). On the busy 2-core machine the spinning default made every
# parallel kernel call cost ~30 ms (docs/benchmarks.md, "Monte Carlo evaluator").
_os.environ.setdefault("OMP_WAIT_POLICY", "passive")

from . import mixing
from .closed_forms import (
    naive_loss,
    naive_offset_loss,
    one_hot_loss,
    one_hot_lower_bound,
    optimal_offset,
    zero_loss,
)
from .loss import LossEstimate, loss_per_feature
from .stratified import LossCurve, loss_curve
from .task import Task, labels, sample_inputs
from .train import TrainResult, train  # the function shadows the submodule: import ccsolve.train via importlib
from .weights import Weights

__all__ = [
    "__version__",
    "mixing",
    "Task",
    "Weights",
    "sample_inputs",
    "labels",
    "one_hot_loss",
    "one_hot_lower_bound",
    "zero_loss",
    "naive_loss",
    "naive_offset_loss",
    "optimal_offset",
    "LossEstimate",
    "loss_per_feature",
    "LossCurve",
    "loss_curve",
    "train",
    "TrainResult",
]
