"""A small counter-based generator for Numba kernels (private).

SplitMix64 (Steele, Lea & Flood 2014): state advances by a fixed odd constant and each output is a
bijective mix of the state. It passes BigCrush, costs a few ns per draw (Numba's np.random costs
about 18 ns here), and its state is one uint64 that each work chunk owns, so results never depend on
threads. The state lives in a 1-element uint64 array so helpers can advance it in place.
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

_GOLDEN = uint64(0x9E3779B97F4A7C15)
_M1 = uint64(0xBF58476D1CE4E5B9)
_M2 = uint64(0x94D049BB133111EB)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True, inline="always")
def next_u64(state):
    z = state[0] + _GOLDEN
    state[0] = z
    z = (z ^ (z >> uint64(30))) * _M1
    z = (z ^ (z >> uint64(27))) * _M2
    return z ^ (z >> uint64(31))


@njit(cache=True, inline="always")
def uniform(state):
    """Uniform on [0, 1) with 53 random bits."""
    return float(next_u64(state) >> uint64(11)) * _INV53


@njit(cache=True, inline="always")
def uniform_pm1(state):
    """Uniform on [-1, 1)."""
    return 2.0 * uniform(state) - 1.0


@njit(cache=True, inline="always")
def below(state, n):
    """Uniform integer in [0, n) (multiply-shift; bias below 2**-32 for n < 2**32)."""
    return int((next_u64(state) >> uint64(32)) * uint64(n) >> uint64(32))


@njit(cache=True, inline="always")
def geometric(state, log1mp):
    """Trials up to and including the first success of Bernoulli(p), log1mp = log(1 - p); p = 1 gives 1."""
    if log1mp == -np.inf:
        return 1
    u = 1.0 - uniform(state)  # in (0, 1]
    return 1 + int(np.floor(np.log(u) / log1mp))


def new_state(seed) -> np.ndarray:
    return np.array([seed], dtype=np.uint64)
