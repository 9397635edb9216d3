"""LossEstimate, the result of every evaluator, and the chunk layout and seeds that Monte Carlo kernels share."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core import validation as v
from ..core.results import Result

__all__ = ["LossEstimate", "sample_chunks", "CHUNK", "ALLOC_SAFETY"]

CHUNK = 1 << 15  # samples per chunk: the unit of parallel work and of seeding
ALLOC_SAFETY = 1.2  # sample-count margin for the noise of a pilot's standard deviations


@dataclass(frozen=True)
class LossEstimate(Result):
    """An estimate of L/p = E||y_hat - y||^2 / (n_features p) (one-hot: E||y_hat - y||^2).

    value     the estimate of L/p
    stderr    its standard error (0 for exact methods)
    n_samples samples drawn (0 for exact methods)
    method    "exact", "monte_carlo", ... (how the value was obtained)
    p         the feature probability evaluated (None for one-hot)
    seconds   wall time of the evaluation
    details   method-specific diagnostics
    """

    value: float
    stderr: float
    n_samples: int
    method: str
    p: float | None
    seconds: float = 0.0
    details: dict = field(default_factory=dict)

    def __float__(self) -> float:
        return float(self.value)

    def interval(self, z: float = 1.96) -> tuple[float, float]:
        return self.value - z * self.stderr, self.value + z * self.stderr


    def __repr__(self):
        return (
            f"LossEstimate(value={self.value:.6g}, stderr={self.stderr:.2g}, method={self.method!r}, "
            f"p={self.p}, n_samples={self.n_samples})"
        )


def sample_chunks(n_samples: int, seed) -> tuple[np.ndarray, np.ndarray]:
    n_chunks = -(-n_samples // CHUNK)
    sizes = np.full(n_chunks, CHUNK, dtype=np.int64)
    sizes[-1] = n_samples - CHUNK * (n_chunks - 1)
    seeds = v.seed_sequence(seed).generate_state(n_chunks, dtype=np.uint64)
    return sizes, seeds


