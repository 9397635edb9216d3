"""Weights of a residual MLP: per layer W_in (d_mlp, d_embed) and W_out (d_embed, d_mlp).

r_(l+1) = r_l + W_out[l] ReLU(W_in[l] r_l), column convention. These are exactly spd's
layers.l.mlp_in.weight and layers.l.mlp_out.weight (nn.Linear's (d_out, d_in) layout); APD's
checkpoints store their transposes with a leading instance axis.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import numpy as np

from ..core import validation as v
from ..core.blas import one_blas_thread
from ..core.io import atomic_write_bytes

__all__ = ["ResidualWeights", "check_weights"]


def _as_list(name, value):
    if isinstance(value, np.ndarray):
        if value.ndim == 3:
            return list(value)
        raise TypeError(f"{name} must be a list of 2-D arrays (one per layer), got an array of shape {value.shape}")
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a list of 2-D arrays (one per layer), got {type(value).__name__}")
    if len(value) == 0:
        raise ValueError(f"{name} must have at least one layer")
    return list(value)


@dataclass(frozen=True, eq=False)
class ResidualWeights:
    """Immutable per-layer weights (read-only float64 tuples W_in, W_out)."""

    W_in: tuple
    W_out: tuple
    n_layers: int = field(init=False)
    d_embed: int = field(init=False)
    d_mlp: tuple = field(init=False)

    def __post_init__(self):
        w_in = _as_list("W_in", self.W_in)
        w_out = _as_list("W_out", self.W_out)
        if len(w_in) != len(w_out):
            raise ValueError(f"W_in has {len(w_in)} layers but W_out has {len(w_out)}")
        ins, outs, dims = [], [], []
        d_embed = None
        for l, (a, b) in enumerate(zip(w_in, w_out)):
            a = v.as_matrix(f"W_in[{l}]", a, shape=(None, d_embed))
            d_embed = a.shape[1]
            b = v.as_matrix(f"W_out[{l}]", b, shape=(d_embed, a.shape[0]))
            for arr, lst in ((a, ins), (b, outs)):
                arr = np.ascontiguousarray(arr).copy()
                arr.setflags(write=False)
                lst.append(arr)
            dims.append(int(a.shape[0]))
        object.__setattr__(self, "W_in", tuple(ins))
        object.__setattr__(self, "W_out", tuple(outs))
        object.__setattr__(self, "n_layers", len(ins))
        object.__setattr__(self, "d_embed", int(d_embed))
        object.__setattr__(self, "d_mlp", tuple(dims))

    # --- forward in the residual stream (dense reference) --------------------------------------
    @one_blas_thread
    def residual(self, r0) -> np.ndarray:
        """r_L for a residual stream r0 of shape (d_embed,) or (d_embed, n_samples)."""
        r = np.array(r0, dtype=np.float64)
        if r.ndim not in (1, 2) or r.shape[0] != self.d_embed:
            raise ValueError(f"r0 must have shape ({self.d_embed},) or ({self.d_embed}, n_samples), got {r.shape}")
        for a, b in zip(self.W_in, self.W_out):
            r = r + b @ np.maximum(a @ r, 0.0)
        return r

    def __call__(self, x, task) -> np.ndarray:
        """y_hat = E^T r_L(E x) for inputs x (n_features,) or (n_features, n_samples) of `task`."""
        from .task import check_task

        task = check_task(task)
        check_weights(self, task)
        x = np.asarray(x, dtype=np.float64)
        if x.ndim not in (1, 2) or x.shape[0] != task.n_features:
            raise ValueError(f"x must have shape ({task.n_features},) or ({task.n_features}, n_samples), got {x.shape}")
        e = task.embedding
        return e.T @ self.residual(e @ x)

    # --- conversions ---------------------------------------------------------------------------
    def to_weights(self, task):
        """One layer: the equivalent ccsolve.Weights (W_in E, E^T W_out) of task.to_task()."""
        from ..core.weights import Weights
        from .task import check_task

        task = check_task(task)
        check_weights(self, task)
        if self.n_layers != 1:
            raise ValueError(f"to_weights needs n_layers=1, got {self.n_layers}")
        e = task.embedding
        return Weights(self.W_in[0] @ e, e.T @ self.W_out[0])

    @classmethod
    def from_spd_state_dict(cls, state: dict) -> ResidualWeights:
        """From an spd ResidMLP state_dict (layers.l.mlp_in.weight (d_mlp, d_embed), layers.l.mlp_out.weight
        (d_embed, d_mlp); torch tensors or arrays). Biases are not supported (the targets have none)."""
        return cls(*_layers_from_state(state, transpose=False))

    @classmethod
    def from_apd_state_dict(cls, state: dict, instance: int = 0) -> ResidualWeights:
        """From an APD ResidualMLPModel state_dict: layers.l.mlp_in.weight (n_instances, d_embed, d_mlp)
        used as x @ W (older files: linear1 / linear2); `instance` picks one model."""
        return cls(*_layers_from_state(state, transpose=True, instance=instance))

    def save(self, path, **metadata) -> None:
        """Atomic .npz with W_in_l, W_out_l and JSON metadata (ccsolve version added)."""
        from .. import __version__

        meta = {"ccsolve_version": __version__, "convention": "column", "n_layers": self.n_layers, **metadata}
        arrays = {f"W_in_{l}": a for l, a in enumerate(self.W_in)}
        arrays.update({f"W_out_{l}": b for l, b in enumerate(self.W_out)})
        bio = io.BytesIO()
        np.savez(bio, metadata=np.array(json.dumps(meta, default=str)), **arrays)
        atomic_write_bytes(path, bio.getvalue())

    @classmethod
    def load(cls, path) -> ResidualWeights:
        with np.load(path, allow_pickle=False) as data:
            n = sum(1 for f in data.files if f.startswith("W_in_"))
            if n == 0:
                raise ValueError(f"{path}: no W_in_0 array (has {data.files})")
            return cls([data[f"W_in_{l}"] for l in range(n)], [data[f"W_out_{l}"] for l in range(n)])

    def __eq__(self, other):
        if not isinstance(other, ResidualWeights):
            return NotImplemented
        return self.n_layers == other.n_layers and all(
            np.array_equal(a, b) for a, b in zip(self.W_in + self.W_out, other.W_in + other.W_out))

    __hash__ = None

    def __repr__(self):
        return f"ResidualWeights(n_layers={self.n_layers}, d_embed={self.d_embed}, d_mlp={list(self.d_mlp)})"


def _to_numpy(t):
    if hasattr(t, "detach"):
        t = t.detach().cpu().numpy()
    return np.asarray(t, dtype=np.float64)


def _layers_from_state(state, transpose, instance=0):
    if not hasattr(state, "keys"):
        raise TypeError(f"state must be a state_dict (a mapping of names to tensors), got {type(state).__name__}")
    w_in, w_out = [], []
    l = 0
    while True:
        names = [(f"layers.{l}.mlp_in.weight", f"layers.{l}.mlp_out.weight"),
                 (f"layers.{l}.linear1", f"layers.{l}.linear2")]
        found = next(((a, b) for a, b in names if a in state and b in state), None)
        if found is None:
            break
        for key in (f"layers.{l}.mlp_in.bias", f"layers.{l}.mlp_out.bias", f"layers.{l}.bias1", f"layers.{l}.bias2"):
            if key in state and np.any(_to_numpy(state[key]) != 0):
                raise ValueError(f"state has a non-zero bias {key!r}: ccsolve.residual supports bias-free MLPs only")
        a, b = (_to_numpy(state[k]) for k in found)
        if transpose:
            if a.ndim == 3:
                a, b = a[instance], b[instance]
            a, b = a.T, b.T
        w_in.append(a)
        w_out.append(b)
        l += 1
    if not w_in:
        raise ValueError("state has no layers.0.mlp_in.weight / layers.0.mlp_out.weight (or linear1 / linear2)")
    return w_in, w_out


def check_weights(weights, task=None) -> ResidualWeights:
    if not isinstance(weights, ResidualWeights):
        raise TypeError(f"weights must be a ccsolve.residual.ResidualWeights, got {type(weights).__name__}")
    if task is not None:
        if weights.n_layers != task.n_layers:
            raise ValueError(f"weights have n_layers={weights.n_layers} but the task has n_layers={task.n_layers}")
        if weights.d_embed != task.d_embed:
            raise ValueError(f"weights have d_embed={weights.d_embed} but the task has d_embed={task.d_embed}")
        if weights.d_mlp != task.d_mlp:
            raise ValueError(f"weights have d_mlp={list(weights.d_mlp)} but the task has d_mlp={list(task.d_mlp)}")
    return weights
