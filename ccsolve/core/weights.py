"""Weights of the one-layer bias-free ReLU MLP, column convention.

y_hat = W_out @ ReLU(W_in @ x), W_in of shape (n_neurons, n_features), W_out of shape
(n_features, n_neurons). The reference PyTorch code uses rows (out = ReLU(x @ w_in) @ w_out) with
w_in = W_in.T and w_out = W_out.T; convert with `Weights.from_row_convention`.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field

import numpy as np

from . import validation as v
from .io import atomic_write_bytes

__all__ = ["Weights", "check_weights", "kaiming_uniform_init"]


@dataclass(frozen=True, eq=False)
class Weights:
    """Immutable pair (W_in, W_out) stored as read-only float64 arrays."""

    W_in: np.ndarray
    W_out: np.ndarray
    n_neurons: int = field(init=False)
    n_features: int = field(init=False)

    def __post_init__(self):
        w_in = v.as_matrix("W_in", self.W_in)
        d, n = w_in.shape
        w_out = v.as_matrix("W_out", self.W_out, shape=(n, d))
        for name, arr in (("W_in", w_in), ("W_out", w_out)):
            arr = arr.copy()
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "n_neurons", d)
        object.__setattr__(self, "n_features", n)

    @classmethod
    def from_row_convention(cls, w_in, w_out) -> "Weights":
        """From the reference's row convention: w_in (n_features, n_neurons), w_out (n_neurons, n_features)."""
        w_in = v.as_matrix("w_in", w_in)
        w_out = v.as_matrix("w_out", w_out, shape=(w_in.shape[1], w_in.shape[0]))
        return cls(w_in.T, w_out.T)

    @classmethod
    def from_torch(cls, obj, **kwargs) -> "Weights":
        """From the reference's PyTorch MLP: a state_dict, an nn.Module or a .pt/.pth path.

        See ccsolve.torch_io.weights_from_torch (keys, convention, n_features); the way back is
        ccsolve.torch_io.to_torch_state_dict. PyTorch is optional: pip install ccsolve[torch].
        """
        from .torch_io import weights_from_torch

        return weights_from_torch(obj, **kwargs)

    def to_row_convention(self) -> tuple[np.ndarray, np.ndarray]:
        """(w_in, w_out) in the reference's row convention."""
        return self.W_in.T.copy(), self.W_out.T.copy()

    def hidden(self, x) -> np.ndarray:
        """ReLU(W_in x) for x of shape (n_features,) or (n_features, n_samples)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim not in (1, 2) or x.shape[0] != self.n_features:
            raise ValueError(
                f"x must have shape ({self.n_features},) or ({self.n_features}, n_samples), got {x.shape}"
            )
        return np.maximum(self.W_in @ x, 0.0)

    def __call__(self, x) -> np.ndarray:
        """y_hat = W_out ReLU(W_in x)."""
        return self.W_out @ self.hidden(x)

    @property
    def product(self) -> np.ndarray:
        """W_out @ W_in, shape (n_features, n_features)."""
        return self.W_out @ self.W_in

    def save(self, path, **metadata) -> None:
        """Write an .npz (atomically) with W_in, W_out and JSON metadata (ccsolve version added)."""
        from .. import __version__

        meta = {"ccsolve_version": __version__, "convention": "column", **metadata}
        bio = io.BytesIO()
        np.savez(bio, W_in=self.W_in, W_out=self.W_out, metadata=np.array(json.dumps(meta, default=str)))
        atomic_write_bytes(path, bio.getvalue())

    @classmethod
    def load(cls, path) -> "Weights":
        """Read weights written by `save` (or any .npz with W_in and W_out, column convention)."""
        with np.load(path, allow_pickle=False) as data:
            missing = {"W_in", "W_out"} - set(data.files)
            if missing:
                raise ValueError(f"{path}: missing arrays {sorted(missing)} (has {data.files})")
            return cls(data["W_in"], data["W_out"])

    @staticmethod
    def load_metadata(path) -> dict:
        with np.load(path, allow_pickle=False) as data:
            return json.loads(str(data["metadata"])) if "metadata" in data.files else {}

    def __eq__(self, other):
        if not isinstance(other, Weights):
            return NotImplemented
        return np.array_equal(self.W_in, other.W_in) and np.array_equal(self.W_out, other.W_out)

    __hash__ = None

    def __repr__(self):
        return f"Weights(n_neurons={self.n_neurons}, n_features={self.n_features})"


def check_weights(weights, n_features: int | None = None) -> Weights:
    if not isinstance(weights, Weights):
        raise TypeError(f"weights must be a ccsolve.Weights, got {type(weights).__name__}")
    if n_features is not None and weights.n_features != n_features:
        hint = ""
        if weights.n_neurons == n_features:
            hint = (
                f"; they look transposed (n_neurons={weights.n_neurons} is the task's n_features): "
                "Weights(W_in, W_out) takes the column convention W_in (n_neurons, n_features), "
                "W_out (n_features, n_neurons); for the reference's row-convention w_in (n_features, "
                "n_neurons), w_out (n_neurons, n_features) use Weights.from_row_convention(w_in, w_out) "
                "(or Weights.from_torch for a state_dict / model / .pt file)"
            )
        raise ValueError(
            f"weights have n_features={weights.n_features} but the task/mixing has n_features={n_features}"
            + hint
        )
    return weights


def kaiming_uniform_init(n_features: int, n_neurons: int, seed=0) -> Weights:
    """torch.nn.init.kaiming_uniform_ (a=0, fan_in, leaky_relu gain sqrt 2) on the reference's tensors.

    w_in (n_features, n_neurons) ~ U(+-sqrt(6 / n_neurons)) is drawn first, then
    w_out (n_neurons, n_features) ~ U(+-sqrt(6 / n_features)); returned in the column convention.
    """
    n_features = v.positive_int("n_features", n_features)
    n_neurons = v.positive_int("n_neurons", n_neurons)
    gen = v.rng(seed)
    b_in = math.sqrt(6.0 / n_neurons)
    b_out = math.sqrt(6.0 / n_features)
    w_in = gen.uniform(-b_in, b_in, size=(n_features, n_neurons))
    w_out = gen.uniform(-b_out, b_out, size=(n_neurons, n_features))
    return Weights.from_row_convention(w_in, w_out)
