"""The compressed-computation task: inputs, labels and the loss normalisation.

Column convention: one sample is a column vector x of length n_features; a batch is an array of
shape (n_features, n_samples). Labels are y = ReLU(x) + M x.

Bernoulli inputs: each feature is independently active with probability p, with value U[-1, 1].
One-hot inputs (one_hot=True): exactly one feature, chosen uniformly, with value U[-1, 1]; this is
the p -> 0 limit of the loss per feature.

The reported figure is L/p = E||y_hat - y||^2 / (n_features * p); in one-hot mode the expected number
of active features is 1, so L/p = E||y_hat - y||^2.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import validation as v
from .blas import one_blas_thread

__all__ = ["Task", "sample_inputs", "labels"]


@dataclass(frozen=True, eq=False)
class Task:
    """A CC task: mixing matrix M (n_features, n_features), n_neurons, feature probability p.

    Immutable; `mixing` is stored as a read-only float64 copy. `p` is ignored by one-hot
    evaluation but kept so that a one-hot task can be re-evaluated at p with `with_p`.
    """

    mixing: np.ndarray
    n_neurons: int = 50
    p: float = 0.01
    one_hot: bool = False
    n_features: int = field(init=False)

    def __post_init__(self):
        m = v.as_matrix("mixing", self.mixing)
        if m.shape[0] != m.shape[1]:
            raise ValueError(f"mixing must be square (n_features, n_features), got shape {m.shape}")
        m = m.copy()
        m.setflags(write=False)
        object.__setattr__(self, "mixing", m)
        object.__setattr__(self, "n_features", int(m.shape[0]))
        object.__setattr__(self, "n_neurons", v.positive_int("n_neurons", self.n_neurons))
        object.__setattr__(self, "p", v.probability("p", self.p))
        if not isinstance(self.one_hot, (bool, np.bool_)):
            raise TypeError(f"one_hot must be a bool, got {type(self.one_hot).__name__}")
        object.__setattr__(self, "one_hot", bool(self.one_hot))

    def with_p(self, p: float) -> "Task":
        """The same task with Bernoulli inputs at feature probability p."""
        return Task(self.mixing, self.n_neurons, p, one_hot=False)

    def as_one_hot(self) -> "Task":
        """The same task in the one-hot (p -> 0) limit."""
        return Task(self.mixing, self.n_neurons, self.p, one_hot=True)

    @property
    def identity_plus_mixing(self) -> np.ndarray:
        """I + M, the linear map the labels apply to positive inputs."""
        return np.eye(self.n_features) + self.mixing

    def config(self) -> dict:
        """JSON-serialisable description (mixing summarised, not stored)."""
        from .mixing import describe

        return {
            "n_features": self.n_features,
            "n_neurons": self.n_neurons,
            "p": self.p,
            "one_hot": self.one_hot,
            "mixing": describe(self.mixing),
        }

    def __eq__(self, other):
        if not isinstance(other, Task):
            return NotImplemented
        return (
            self.n_neurons == other.n_neurons
            and self.p == other.p
            and self.one_hot == other.one_hot
            and np.array_equal(self.mixing, other.mixing)
        )

    def __hash__(self):
        return hash((self.n_neurons, self.p, self.one_hot, self.mixing.tobytes()))

    def __repr__(self):
        mode = "one_hot=True" if self.one_hot else f"p={self.p:g}"
        return (
            f"Task(n_features={self.n_features}, n_neurons={self.n_neurons}, {mode}, "
            f"|M|_F={np.linalg.norm(self.mixing):.4g})"
        )


def check_task(task) -> Task:
    if not isinstance(task, Task):
        raise TypeError(f"task must be a ccsolve.Task, got {type(task).__name__}")
    return task


def sample_inputs(task: Task, n_samples: int, seed=None) -> np.ndarray:
    """Draw a dense batch of inputs, shape (n_features, n_samples).

    Bernoulli(p) activity with U[-1, 1] values, or exactly one active feature if task.one_hot.
    `seed` is an int, a numpy Generator or None.
    """
    task = check_task(task)
    n_samples = v.positive_int("n_samples", n_samples)
    gen = v.rng(seed)
    n = task.n_features
    values = gen.uniform(-1.0, 1.0, size=(n, n_samples))
    if task.one_hot:
        x = np.zeros((n, n_samples))
        idx = gen.integers(0, n, size=n_samples)
        x[idx, np.arange(n_samples)] = values[0]
        return x
    active = gen.random((n, n_samples)) < task.p
    return np.where(active, values, 0.0)


@one_blas_thread
def labels(task: Task, x) -> np.ndarray:
    """y = ReLU(x) + M x for x of shape (n_features,) or (n_features, n_samples)."""
    task = check_task(task)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim not in (1, 2) or x.shape[0] != task.n_features:
        raise ValueError(
            f"x must have shape ({task.n_features},) or ({task.n_features}, n_samples), got {x.shape}"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or inf entries")
    return np.maximum(x, 0.0) + task.mixing @ x
