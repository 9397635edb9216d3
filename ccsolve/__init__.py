"""ccsolve: exact losses, hand-built solutions, bounds and a fast trainer for the
compressed-computation toy model (y = ReLU(x) + M x, one bias-free ReLU layer).

Column convention throughout: y_hat = W_out @ ReLU(W_in @ x), W_in (n_neurons, n_features),
W_out (n_features, n_neurons); batches are (n_features, n_samples).
"""

__version__ = "0.1.0"

import os as _os

# Numba's OpenMP threads spin briefly (GOMP_SPINCOUNT=1000), then sleep, between parallel regions (read
# when Numba starts its thread pool; a user's OMP_WAIT_POLICY or GOMP_SPINCOUNT wins). libgomp's default
# (300,000 spins) made every parallel call cost ~30 ms on a busy 2-core machine; sleeping at once
# (OMP_WAIT_POLICY=passive) costs ~50 us per region on an idle one, which doubled a training step
# (3 regions per step). A short spin keeps both cases close to the best (docs/benchmarks.md, "Trainer").
if "OMP_WAIT_POLICY" not in _os.environ and "GOMP_SPINCOUNT" not in _os.environ:
    _os.environ["GOMP_SPINCOUNT"] = "1000"

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
