"""Starting points of the multi-start optimisers: one registry of named inits and the expansion of an
`init` argument ("auto", a name, Weights or a list of these) into (name, Weights or None) pairs."""

from __future__ import annotations

from .. import constructions as c
from ..core.task import Task
from ..core.weights import Weights, check_weights, kaiming_uniform_init

__all__ = ["INITS", "expand_inits", "initial_weights"]

# every named init the optimisers know; each optimiser accepts a subset
INITS = ("one_hot", "snmf", "svd", "naive", "train", "random")


def initial_weights(name: str, task: Task, seed, gen, train_steps: int = 2000) -> Weights:
    """The init `name` for `task`.

    one_hot  minimize_one_hot(task, seed=seed)     snmf   snmf(task, seed=seed)     svd   svd(task)
    naive    naive(task)                            train  train(task, steps=train_steps, seed=seed)
    random   the reference's PyTorch Kaiming-uniform init, drawn from the Generator `gen`
    """
    if name == "one_hot":
        from .one_hot import minimize_one_hot

        return minimize_one_hot(task, seed=seed).weights
    if name == "snmf":
        return c.snmf(task, seed=seed).weights
    if name == "svd":
        return c.svd(task)
    if name == "naive":
        return c.naive(task)
    if name == "train":
        from ..training.trainer import train

        return train(task, steps=train_steps, seed=seed, progress=False).weights
    if name == "random":
        return kaiming_uniform_init(task.n_features, task.n_neurons, seed=gen)
    raise ValueError(f"init must be one of {list(INITS)}, got {name!r}")


def expand_inits(init, n: int, d: int, names, auto, repeat=None) -> list:
    """Starting points of a multi-start solver as (name, Weights or None) pairs.

    init: a name, "auto", Weights (checked against n features and d neurons) or a list of these;
    names: the allowed names; auto: the names "auto" stands for; repeat: {name: copies} (e.g. several
    random starts).
    """
    entries = list(init) if isinstance(init, (list, tuple)) else [init]
    if not entries:
        raise ValueError("init must name at least one starting point")
    repeat = repeat or {}
    out = []
    for e in entries:
        if isinstance(e, Weights):
            check_weights(e, n)
            if e.n_neurons != d:
                raise ValueError(f"init Weights have n_neurons={e.n_neurons}, the task has {d}")
            out.append(("weights", e))
        elif isinstance(e, str) and (e == "auto" or e in names):
            for name in (auto if e == "auto" else [e]):
                out.extend([(name, None)] * repeat.get(name, 1))
        else:
            err = ValueError if isinstance(e, str) else TypeError
            raise err(f"init must be 'auto', one of {sorted(names)}, a Weights or a list of these, got {e!r}")
    return out
