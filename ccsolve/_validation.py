"""Input checks shared by every public entry point.

Each helper raises a TypeError or ValueError whose message names the offending parameter and
says what was expected, so that bad input never reaches a Numba kernel.
"""

from __future__ import annotations

import numbers

import numpy as np


def as_matrix(name: str, value, shape: tuple | None = None) -> np.ndarray:
    """Return `value` as a finite float64 2-D array, checking its shape.

    `shape` entries may be None (any size along that axis).
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a 2-D array of numbers, got {type(value).__name__}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a 2-D array of numbers ({exc})") from None
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {arr.shape}")
    if shape is not None:
        for axis, (got, want) in enumerate(zip(arr.shape, shape)):
            if want is not None and got != want:
                raise ValueError(
                    f"{name} must have shape {_fmt_shape(shape)}, got {arr.shape} "
                    f"(axis {axis} is {got}, expected {want})"
                )
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf entries")
    return arr


def _fmt_shape(shape) -> str:
    return "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"


def positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def real(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def probability(name: str, value) -> float:
    """A feature probability in (0, 1]."""
    value = real(name, value)
    if not 0.0 < value <= 1.0:
        raise ValueError(f"{name} must be in (0, 1], got {value}")
    return value


def non_negative(name: str, value) -> float:
    value = real(name, value)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def positive(name: str, value) -> float:
    value = real(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def rng(seed) -> np.random.Generator:
    """A numpy Generator from an int seed, a SeedSequence, a Generator or None."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, a numpy Generator or None, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return np.random.default_rng(int(seed))


def seed_sequence(seed) -> np.random.SeedSequence:
    """A SeedSequence for kernels that need raw integer seeds.

    A Generator is accepted too: one draw from it seeds the sequence, so the caller's stream moves on.
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(0, 2**63 - 1)))
    if seed is None:
        return np.random.SeedSequence()
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, a numpy Generator or None, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return np.random.SeedSequence(int(seed))


def choice(name: str, value, options) -> str:
    if value not in options:
        raise ValueError(f"{name} must be one of {sorted(options)!r}, got {value!r}")
    return value


def expand_inits(init, n: int, d: int, names, auto, repeat=None) -> list:
    """Starting points of a multi-start solver as (name, Weights or None) pairs.

    init: a name, "auto", Weights (checked against n features and d neurons) or a list of these;
    names: the allowed names; auto: the names "auto" stands for; repeat: {name: copies} (e.g. several
    random starts).
    """
    from .weights import Weights, check_weights

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
