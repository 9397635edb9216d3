"""The compressed-computation point functions for ccsolve.sweep.run_sweep: build a task from a config
dict, then evaluate a construction (evaluate_point) or a freshly trained model (train_point)."""

from __future__ import annotations

import inspect
from collections.abc import Mapping

import numpy as np

from .. import constructions
from ..core import validation as v
from ..core.results import Result
from ..core.mixing import KINDS
from ..core.mixing import make as mixing_matrix
from ..core.task import Task
from ..core.weights import Weights
from ..evaluation.closed_forms import one_hot_loss, one_hot_lower_bound
from ..evaluation.loss import loss_per_feature
from ..training.trainer import train

__all__ = ["make_task", "evaluate_point", "train_point", "TASK_DEFAULTS", "EVAL_DEFAULTS", "MIXING_KINDS"]

MIXING_KINDS = KINDS

TASK_DEFAULTS = {
    "mixing": None,          # required: one of MIXING_KINDS
    "sigma": 0.025,          # random / symmetric: M = sigma * G
    "sign": 1,               # embedding: +1 -> W_E W_E^T - I (reference code), -1 -> I - W_E W_E^T
    "d_embed": 1000,         # embedding: residual width
    "zero_diagonal": False,  # random / symmetric: zero the diagonal of G
    "seed": 0,               # seeds M (and constructions / training that take a seed)
    "n_features": 100,
    "n_neurons": 50,
    "p": 0.01,
    "one_hot": False,
}

EVAL_DEFAULTS = {
    "construction": "naive",     # a function name in ccsolve.constructions (evaluate_point)
    "construction_kwargs": {},   # keyword arguments for it
    "method": "monte_carlo",     # passed to ccsolve.loss_per_feature
    "n_samples": 1 << 20,
    "eval_seed": None,           # Monte Carlo seed; None -> seed + 1 (as ccsolve.compare)
    "tol": None,                 # passed to loss_per_feature only when set (methods that take it)
    "return_weights": False,     # include W_in, W_out (column convention) as nested lists
    "tag": None,                 # free label, ignored by the computation (but part of the cache key)
}

TRAIN_KEYS = {"train": {}}  # train_point: keyword arguments for ccsolve.train


def _get(config: Mapping, key: str, defaults: Mapping):
    value = config.get(key, defaults[key])
    return defaults[key] if value is None and key != "mixing" else value


def make_task(config: Mapping):
    """A ccsolve.Task from a config dict; keys (defaults in TASK_DEFAULTS; other keys are ignored):

    mixing        'clean' | 'embedding' | 'random' | 'symmetric' (required)
    sigma         random/symmetric scale; sign, d_embed: embedding; zero_diagonal: random/symmetric
    seed          seeds M: ccsolve.mixing.make(mixing, n_features, sigma=..., sign=..., d_embed=...,
                  seed=..., zero_diagonal=...)
    n_features, n_neurons, p, one_hot   as in ccsolve.Task
    """
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a dict, got {type(config).__name__}")
    kind = config.get("mixing")
    if kind is None:
        raise ValueError(f"config needs 'mixing', one of {list(MIXING_KINDS)}")
    if kind not in MIXING_KINDS:
        raise ValueError(f"config['mixing'] must be one of {list(MIXING_KINDS)}, got {kind!r}")
    g = {k: _get(config, k, TASK_DEFAULTS) for k in TASK_DEFAULTS}
    n = v.positive_int("n_features", g["n_features"])
    m = mixing_matrix(kind, n, sigma=g["sigma"], sign=g["sign"], d_embed=g["d_embed"], seed=g["seed"],
                      zero_diagonal=g["zero_diagonal"])
    return Task(m, g["n_neurons"], g["p"], one_hot=g["one_hot"])


def _check_keys(config: Mapping, allowed, fn: str) -> None:
    unknown = sorted(set(config) - set(allowed))
    if unknown:
        raise ValueError(f"{fn}: unknown config key(s) {unknown}; allowed: {sorted(allowed)}")


def _accepts(func, name: str) -> bool:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _scalar_fields(obj, skip=("weights", "seconds")) -> dict:
    """JSON scalars among a result's fields (timings left out: results must be deterministic)."""
    if not isinstance(obj, Result):
        return {}
    out = {}
    for k, val in obj.to_dict().items():
        if k in skip or k.startswith("_") or k.endswith("seconds"):
            continue
        if isinstance(val, (bool, str, int, float)):
            out[k] = val
    return out


def _as_weights(obj, what: str):
    if isinstance(obj, Weights):
        return obj
    w = getattr(obj, "weights", None)
    if isinstance(w, Weights):
        return w
    raise TypeError(f"{what} returned {type(obj).__name__}, expected ccsolve.Weights or a result with .weights")


def _evaluate(weights, task, config: Mapping) -> dict:
    method = _get(config, "method", EVAL_DEFAULTS)
    n_samples = _get(config, "n_samples", EVAL_DEFAULTS)
    seed = _get(config, "seed", TASK_DEFAULTS)
    eval_seed = config.get("eval_seed")
    if eval_seed is None:
        eval_seed = v.positive_int("seed", seed, minimum=0) + 1
    kwargs = {"method": method, "n_samples": n_samples, "seed": eval_seed}
    tol = config.get("tol")
    if tol is not None:
        kwargs["tol"] = tol
    est = loss_per_feature(weights, task, **kwargs)
    out = {
        "loss_per_feature": float(est.value),
        "stderr": float(est.stderr),
        "n_samples": int(est.n_samples),
        "method": est.method,
        "p": est.p,
        "details": {k: val for k, val in est.details.items() if not str(k).endswith("seconds")},
        "one_hot_loss": float(one_hot_loss(weights, task.mixing)),
        "one_hot_lower_bound": float(one_hot_lower_bound(task.mixing, task.n_neurons)),
    }
    rw = _get(config, "return_weights", EVAL_DEFAULTS)
    rw = v.boolean("return_weights", rw)
    if rw:
        out["W_in"] = weights.W_in.tolist()
        out["W_out"] = weights.W_out.tolist()
    return out


def evaluate_point(config: Mapping) -> dict:
    """Build the task (make_task) and a construction, evaluate it; a point function for run_sweep.

    Keys: TASK_DEFAULTS (task) and EVAL_DEFAULTS: `construction` names a function of
    ccsolve.constructions (naive, naive_offset, ...) called as f(task, **construction_kwargs), with
    seed=config['seed'] added when f takes a seed and none is given. Evaluated with
    ccsolve.loss_per_feature(weights, task, method, n_samples, seed=eval_seed[, tol]).

    Returns {construction, loss_per_feature, stderr, n_samples, method, p, details, one_hot_loss,
    one_hot_lower_bound, construction_info[, W_in, W_out]}; no timings, so results depend only on the
    config.
    """
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a dict, got {type(config).__name__}")
    _check_keys(config, {**TASK_DEFAULTS, **EVAL_DEFAULTS}, "evaluate_point")
    task = make_task(config)
    name = _get(config, "construction", EVAL_DEFAULTS)
    public = getattr(constructions, "__all__", [n for n in dir(constructions) if not n.startswith("_")])
    builder = getattr(constructions, name, None) if isinstance(name, str) and not name.startswith("_") else None
    if builder is None or not callable(builder) or name not in public:
        raise ValueError(f"config['construction'] must name a function of ccsolve.constructions "
                         f"({sorted(public)}), got {name!r}")
    kwargs = config.get("construction_kwargs") or {}
    if not isinstance(kwargs, Mapping):
        raise TypeError(f"config['construction_kwargs'] must be a dict, got {kwargs!r}")
    kwargs = dict(kwargs)
    if "seed" not in kwargs and _accepts(builder, "seed"):
        kwargs["seed"] = _get(config, "seed", TASK_DEFAULTS)
    if _accepts(builder, "progress") and "progress" not in kwargs:
        kwargs["progress"] = False
    built = builder(task, **kwargs)
    weights = _as_weights(built, f"constructions.{name}")
    out = {"construction": name, **_evaluate(weights, task, config)}
    out["construction_info"] = _scalar_fields(built) if built is not weights else {}
    return out


def train_point(config: Mapping) -> dict:
    """Train on the config's task with ccsolve.train, then evaluate as evaluate_point does.

    Keys: TASK_DEFAULTS, EVAL_DEFAULTS (except construction/construction_kwargs) and `train`: a dict
    of keyword arguments for ccsolve.train(task, **train) (steps, batch_size, lr, ...); seed defaults
    to config['seed'] and progress to False. Returns evaluate_point's keys (construction='trained')
    plus `train`: the scalar fields of the training result (timings left out) and `final_train_loss`
    when the result has a loss history.
    """
    if not isinstance(config, Mapping):
        raise TypeError(f"config must be a dict, got {type(config).__name__}")
    allowed = {**TASK_DEFAULTS, **EVAL_DEFAULTS, **TRAIN_KEYS}
    allowed.pop("construction")
    allowed.pop("construction_kwargs")
    _check_keys(config, allowed, "train_point")
    task = make_task(config)
    kwargs = config.get("train") or {}
    if not isinstance(kwargs, Mapping):
        raise TypeError(f"config['train'] must be a dict of ccsolve.train keyword arguments, got {kwargs!r}")
    kwargs = dict(kwargs)
    kwargs.setdefault("seed", _get(config, "seed", TASK_DEFAULTS))
    if _accepts(train, "progress"):
        kwargs.setdefault("progress", False)
    res = train(task, **kwargs)
    weights = _as_weights(res, "ccsolve.train")
    out = {"construction": "trained", **_evaluate(weights, task, config)}
    info = _scalar_fields(res) if res is not weights else {}
    for attr in ("losses", "loss", "loss_history", "train_loss"):
        hist = getattr(res, attr, None)
        if hist is not None and np.ndim(hist) == 1 and np.size(hist) > 0:
            info["final_train_loss"] = float(np.asarray(hist)[-1])
            break
    out["train"] = info
    return out
