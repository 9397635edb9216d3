"""Loading the post's PyTorch models and mixing matrices as they come, and writing them back.

The reference code (Stefan-Heimersheim/toy-model-of-computation-in-superposition, paper_code/
mlpinsoup.py) stores an `MLP` with two bias-free parameters in the row convention,

    out = ReLU(x @ w_in) @ w_out,   w_in (n_features, d_mlp), w_out (d_mlp, n_features),

and its datasets (`NoisyDataset`, `ResidTransposeDataset`) label with y = ReLU(x) + Mscaled x where
Mscaled = M * |scale| acts on column vectors, (Mscaled x)_o = sum_i Mscaled[o, i] x_i: the same
orientation as ccsolve's `Task.mixing`, so a reference M is used as it is (no transpose).

PyTorch is an optional extra (`pip install ccsolve[torch]`), imported only when a tensor, a module
or a file needs it: a state_dict of NumPy arrays loads without it. Tensors that require grad
(the reference's `Mscaled` does, its scale being an nn.Parameter), nn.Parameters, float32/float16/
bfloat16 and CUDA tensors are detached, moved to the CPU and converted to float64.

Round trip: `to_torch_state_dict(Weights.from_torch(sd))` gives tensors equal to `sd`'s (float32 ->
float64 -> float32 is exact), loadable with `MLP.load_state_dict`; `to_state_dict` gives the same
two arrays as float64 NumPy arrays without PyTorch.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from . import validation as v

__all__ = [
    "weights_from_torch",
    "mixing_from_torch",
    "task_from_torch",
    "to_torch_state_dict",
    "to_state_dict",
    "REFERENCE_KEYS",
]

REFERENCE_KEYS = ("w_in", "w_out")
_EXTRA = "pip install ccsolve[torch]"


def _import_torch(why: str):
    try:
        import torch
    except ImportError:
        raise ImportError(f"{why} needs PyTorch, an optional extra of ccsolve: {_EXTRA}") from None
    return torch


def _is_tensor(x) -> bool:
    return type(x).__module__.split(".")[0] == "torch" and hasattr(x, "detach")


def _array(name: str, x) -> np.ndarray:
    """A float64 NumPy copy of a tensor / Parameter / array-like (torch imported only for tensors)."""
    if _is_tensor(x):
        torch = _import_torch(f"converting the torch tensor {name}")
        t = x.detach()
        if t.is_complex():
            raise TypeError(f"{name} must be a real tensor, got dtype {t.dtype}")
        return t.to(device="cpu", dtype=torch.float64).numpy().copy()
    return np.array(x, dtype=np.float64) if not isinstance(x, (str, bytes)) else x


def _load_file(path, weights_only: bool):
    torch = _import_torch(f"reading {os.fspath(path)!r}")
    return torch.load(os.fspath(path), map_location="cpu", weights_only=weights_only)


def _state_dict(obj, what: str, weights_only: bool):
    """A Mapping from a state_dict, an nn.Module (anything with .state_dict()) or a .pt/.pth path."""
    if isinstance(obj, (str, os.PathLike)):
        obj = _load_file(obj, weights_only)
    if isinstance(obj, Mapping):
        return obj
    if callable(getattr(obj, "state_dict", None)):
        return obj.state_dict()
    raise TypeError(
        f"{what} must be a state_dict (a mapping of tensors or arrays), an nn.Module or a path to a "
        f".pt/.pth file, got {type(obj).__name__}"
    )


def weights_from_torch(obj, keys=REFERENCE_KEYS, convention: str = "row", n_features: int | None = None,
                       weights_only: bool = True):
    """`Weights` from the reference's MLP: a state_dict, an `nn.Module` or a saved .pt/.pth file.

    obj          {"w_in": ..., "w_out": ...} of tensors, Parameters or arrays (extra keys are an error,
                 so that a model with biases or more layers is not silently truncated); an nn.Module
                 (its state_dict() is read); or a path, read with torch.load(map_location="cpu",
                 weights_only=weights_only) and holding either of these (a whole pickled module
                 needs weights_only=False: only for files you trust).
    keys         the names of (w_in, w_out) in the state_dict; default the reference's ("w_in", "w_out").
    convention   "row" (the reference: w_in (n_features, n_neurons), w_out (n_neurons, n_features))
                 or "column" (ccsolve's: W_in (n_neurons, n_features), W_out (n_features, n_neurons)).
                 The two are not told apart by the shapes alone; pass n_features to have them checked.
    n_features   if given, the number of features the weights must have.
    """
    from .weights import Weights

    v.choice("convention", convention, {"row", "column"})
    if (not isinstance(keys, (tuple, list)) or len(keys) != 2
            or not all(isinstance(k, str) for k in keys)):
        raise TypeError(f"keys must be a pair of strings (name of w_in, name of w_out), got {keys!r}")
    sd = _state_dict(obj, "obj", weights_only)
    got = [str(k) for k in sd]
    k_in, k_out = keys
    if set(got) != {k_in, k_out}:
        missing = [k for k in keys if k not in sd]
        extra = [k for k in got if k not in keys]
        raise ValueError(
            f"expected a state_dict with exactly the keys {list(keys)} (the reference MLP's w_in "
            f"(n_features, d_mlp) and w_out (d_mlp, n_features)); got keys {got}"
            + (f", missing {missing}" if missing else "") + (f", unexpected {extra}" if extra else "")
            + "; pass keys=(name_of_w_in, name_of_w_out) if they are named otherwise"
        )
    a_in, a_out = _array(k_in, sd[k_in]), _array(k_out, sd[k_out])
    for k, a in ((k_in, a_in), (k_out, a_out)):
        if a.ndim != 2:
            raise ValueError(f"{k} must be a 2-D matrix, got shape {a.shape}")
    if a_out.shape != a_in.shape[::-1]:
        if convention == "row":
            want = "w_in (n_features, n_neurons) and w_out (n_neurons, n_features)"
        else:
            want = "W_in (n_neurons, n_features) and W_out (n_features, n_neurons)"
        raise ValueError(f"expected {want} ({convention} convention), got {k_in} {a_in.shape} and "
                         f"{k_out} {a_out.shape}")
    w = Weights.from_row_convention(a_in, a_out) if convention == "row" else Weights(a_in, a_out)
    if n_features is not None:
        n_features = v.positive_int("n_features", n_features)
        if w.n_features != n_features:
            other = "column" if convention == "row" else "row"
            raise ValueError(
                f"read in the {convention} convention the weights have n_features={w.n_features}, "
                f"expected {n_features}" + (f"; they look like the {other} convention (convention="
                                            f"{other!r})" if w.n_neurons == n_features else "")
            )
    return w


def mixing_from_torch(obj, scaled: bool = True, key: str | None = None,
                      weights_only: bool = True) -> np.ndarray:
    """A reference dataset's mixing matrix as a float64 (n_features, n_features) array.

    obj      a reference dataset (NoisyDataset, ResidTransposeDataset: anything with .Mscaled or .M),
             a tensor / Parameter / array, a mapping holding one, or a path to a .pt/.pth file of these.
    scaled   for a dataset: Mscaled = M * |scale| (what its labels use; default) or the unscaled M.
    key      for a mapping: the entry to read; default "Mscaled" if present, else "M".
    The matrix is used as it is: the reference's labels are ReLU(x) + Mscaled x in ccsolve's
    orientation. mixing.embedding(seed=...) does not reproduce a reference M (different random
    numbers), so load the one a model was trained on.
    """
    if isinstance(obj, (str, os.PathLike)):
        obj = _load_file(obj, weights_only)
    if isinstance(obj, Mapping):
        if key is None:
            key = "Mscaled" if "Mscaled" in obj else "M"
        if key not in obj:
            raise ValueError(f"expected a mapping with the key {key!r} (or 'Mscaled'/'M'), got keys "
                             f"{[str(k) for k in obj]}")
        obj = obj[key]
    elif key is not None:
        raise ValueError("key is only used when obj is a mapping")
    if hasattr(obj, "Mscaled") or hasattr(obj, "M"):
        if scaled and not hasattr(obj, "Mscaled"):
            raise ValueError(f"{type(obj).__name__} has .M but no .Mscaled; pass scaled=False")
        obj = obj.Mscaled if scaled else obj.M
    m = _array("M", obj)
    if not isinstance(m, np.ndarray) or m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"expected a square (n_features, n_features) mixing matrix, got "
                         f"{getattr(m, 'shape', type(m).__name__)}")
    return v.as_matrix("M", m)


def task_from_torch(dataset, n_neurons: int = 50, p: float | None = None):
    """A ccsolve `Task` from a reference dataset: its Mscaled, its p and exactly_one_active_feature.

    exactly_one_active_feature=True becomes one_hot=True. Normalisation: the reference's
    evaluate() is E||e||^2 / n_features, and its scripts divide by p, giving ccsolve's Bernoulli
    L/p = E||e||^2 / (n_features p). In one-hot mode ccsolve's L/p is E||e||^2, which equals the
    reference's evaluate() / p only when n_features * p = 1 (its nb6 setting: 100 features, p = 0.01).
    """
    from .task import Task

    m = mixing_from_torch(dataset)
    p = getattr(dataset, "p", None) if p is None else p
    if p is None:
        raise ValueError("the dataset has no attribute p: pass p")
    one_hot = bool(getattr(dataset, "exactly_one_active_feature", False))
    return Task(m, n_neurons, float(p), one_hot=one_hot)


def to_state_dict(weights) -> dict:
    """{"w_in": (n_features, n_neurons), "w_out": (n_neurons, n_features)} float64 NumPy arrays (row
    convention, the reference's keys); no PyTorch needed. `weights_from_torch` reads it back exactly."""
    from .weights import check_weights

    w_in, w_out = check_weights(weights).to_row_convention()
    return {"w_in": w_in, "w_out": w_out}


def to_torch_state_dict(weights, dtype=None) -> dict:
    """The reference MLP's state_dict: {"w_in", "w_out"} torch tensors in the row convention.

    dtype defaults to torch.float32 (the reference's parameters); `MLP(n_features, d_mlp)
    .load_state_dict(to_torch_state_dict(w))` then reproduces the model. float64 weights are rounded
    to float32; pass dtype=torch.float64 to keep them exactly.
    """
    torch = _import_torch("to_torch_state_dict")
    dtype = torch.float32 if dtype is None else dtype
    return {k: torch.tensor(a, dtype=dtype) for k, a in to_state_dict(weights).items()}
