"""ccsolve: exact losses, hand-built solutions, bounds and a fast trainer for the
compressed-computation toy model (y = ReLU(x) + M x, one bias-free ReLU layer).

Column convention throughout: y_hat = W_out @ ReLU(W_in @ x), W_in (n_neurons, n_features),
W_out (n_features, n_neurons); batches are (n_features, n_samples).

Layers (each imports only from those below it; docs/architecture.md):
  _kernels       pure Numba kernels
  core           task, weights, mixing, validation, BLAS limit, io, progress, results
  evaluation     closed forms, one-hot loss, Monte Carlo, stratified estimator, loss_per_feature
  constructions  naive, SVD, SNMF, readouts          training   the gradient trainer
  analysis       structure of a solution
  optimize       minimize_one_hot, minimize_exact, minimize_moments
  apps           sweeps, plots; the programs ccsolve.compare and ccsolve.figures
Every public submodule is importable from here on first use (`ccsolve.constructions.snmf(...)`), and
so are the short paths ccsolve.task, .weights, .mixing, .loss, .closed_forms, .stratified, .sweep, .plots and
.exact_objective; nothing heavy is imported by `import ccsolve` itself.
"""

__version__ = "0.1.0"

import importlib as _importlib
import importlib.abc as _abc
import importlib.util as _util
import os as _os
import sys as _sys

# Numba's OpenMP threads spin briefly (GOMP_SPINCOUNT=1000), then sleep, between parallel regions (read
# when Numba starts its thread pool; a user's OMP_WAIT_POLICY or GOMP_SPINCOUNT wins). libgomp's default
# (300,000 spins) made every parallel call cost ~30 ms on a busy 2-core machine; sleeping at once
# (OMP_WAIT_POLICY=passive) costs ~50 us per region on an idle one, which doubled a training step
# (3 regions per step). A short spin keeps both cases close to the best (docs/benchmarks.md, "Trainer").
if "OMP_WAIT_POLICY" not in _os.environ and "GOMP_SPINCOUNT" not in _os.environ:
    _os.environ["GOMP_SPINCOUNT"] = "1000"

# short module paths -> the module that holds the code (one module object under both names)
_ALIASES = {
    "task": "ccsolve.core.task",
    "weights": "ccsolve.core.weights",
    "mixing": "ccsolve.core.mixing",
    "closed_forms": "ccsolve.evaluation.closed_forms",
    "loss": "ccsolve.evaluation.loss",
    "montecarlo": "ccsolve.evaluation.montecarlo",
    "stratified": "ccsolve.evaluation.stratified",
    "moments": "ccsolve.evaluation.moments",
    "exact_objective": "ccsolve.optimize.exact",
    "sweep": "ccsolve.apps.sweep",
    "points": "ccsolve.apps.points",
    "plots": "ccsolve.apps.plots",
    "torch_io": "ccsolve.core.torch_io",
    # private paths of earlier versions
    "_validation": "ccsolve.core.validation",
    "_blas": "ccsolve.core.blas",
    "_io": "ccsolve.core.io",
}

# public submodules (packages and programs) loaded on first attribute access
_SUBMODULES = ("core", "evaluation", "bounds", "constructions", "training", "analysis", "optimize", "apps",
               "compare", "figures", "residual")

# public names -> the module defining them
_NAMES = {
    "Task": "ccsolve.core.task",
    "labels": "ccsolve.core.task",
    "sample_inputs": "ccsolve.core.task",
    "Weights": "ccsolve.core.weights",
    "one_hot_loss": "ccsolve.evaluation.closed_forms",
    "one_hot_lower_bound": "ccsolve.evaluation.closed_forms",
    "zero_loss": "ccsolve.evaluation.closed_forms",
    "naive_loss": "ccsolve.evaluation.closed_forms",
    "naive_offset_loss": "ccsolve.evaluation.closed_forms",
    "optimal_offset": "ccsolve.evaluation.closed_forms",
    "LossEstimate": "ccsolve.evaluation.estimate",
    "loss_per_feature": "ccsolve.evaluation.loss",
    "LossCurve": "ccsolve.evaluation.stratified",
    "loss_curve": "ccsolve.evaluation.stratified",
    "train": "ccsolve.training.trainer",
    "TrainResult": "ccsolve.training.trainer",
}


class _AliasFinder(_abc.MetaPathFinder, _abc.Loader):
    """Makes `import ccsolve.task` (and the other short paths) give the module at its real path."""

    def find_spec(self, fullname, path=None, target=None):
        head, _, tail = fullname.partition(".")
        if head == __name__ and tail in _ALIASES:
            return _util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        module = _importlib.import_module(_ALIASES[spec.name.partition(".")[2]])
        # the import system overwrites __spec__ with the alias's; keep the real one for exec_module
        self._real_spec = module.__spec__
        return module

    def exec_module(self, module):
        # the module stays what it is at its real path (relative imports, pickling, reload)
        module.__spec__ = self._real_spec


if not any(isinstance(f, _AliasFinder) for f in _sys.meta_path):
    _sys.meta_path.append(_AliasFinder())


def __getattr__(name):
    if name in _NAMES:
        value = getattr(_importlib.import_module(_NAMES[name]), name)
    elif name in _ALIASES or name in _SUBMODULES:
        value = _importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


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
    # submodules
    "core",
    "evaluation",
    "constructions",
    "training",
    "analysis",
    "optimize",
    "apps",
    "compare",
    "figures",
    "task",
    "weights",
    "closed_forms",
    "loss",
    "stratified",
    "sweep",
    "plots",
]
