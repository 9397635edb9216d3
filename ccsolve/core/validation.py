"""Input checks shared by every public entry point.

Each helper raises a TypeError or ValueError whose message names the offending parameter and
says what was expected, so that bad input never reaches a Numba kernel.
"""

from __future__ import annotations

import numbers

import numpy as np


MAX_ABS = 1e30
"""Largest |entry| accepted in weights, mixing matrices, inputs and offsets.

A squared error sums n_features terms, each a sum of n_neurons * n_features products of two weights and
an input; the standard error squares it again. With every entry <= 1e30 and n_features, n_neurons <=
10^4, a per-sample squared error is <= ~1e140 and its square <= ~1e280, below the float64 maximum
(1.8e308), so no loss, gradient or standard error can overflow to inf or NaN."""

MAX_SAMPLES = 10**11
"""Most samples one evaluation may draw (n_samples, or what a tol needs): 1e11 samples take hours at
the measured 1e7..1e8 samples/s; more could not finish (and would not fit their seeds in memory)."""


def _kind_error(name: str, what: str, value, dtype) -> TypeError:
    return TypeError(f"{name} must be {what} of real numbers, got {type(value).__name__} of dtype {dtype}")


def as_array(name: str, value, ndim=(2,), shape: tuple | None = None, bound: float = MAX_ABS,
             allow_empty: bool = False) -> np.ndarray:
    """Return `value` as a finite, real, non-bool float64 array with ndim in `ndim`, |entries| <= bound.

    `shape` (for 2-D) entries may be None (any size along that axis). Raises TypeError for values of the
    wrong kind (str, None, bool or complex arrays, objects) and ValueError for wrong shapes or values,
    each message naming `name`.
    """
    what = "a " + " or ".join(f"{k}-D" for k in ndim) + " array"
    if isinstance(value, (str, bytes)) or value is None or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be {what} of real numbers, got {type(value).__name__}")
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged nested lists
        raise TypeError(f"{name} must be {what} of real numbers ({exc})") from None
    if raw.dtype.kind not in "iufO":  # bool, complex, strings, dates...
        raise _kind_error(name, what, value, raw.dtype)
    try:
        arr = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be {what} of real numbers ({exc})") from None
    if raw.dtype.kind == "O" and any(isinstance(e, (bool, np.bool_, complex, np.complexfloating))
                                     for e in raw.ravel()):
        raise _kind_error(name, what, value, "object holding bool or complex entries")
    if arr.ndim not in ndim:
        raise ValueError(f"{name} must be {what}, got shape {arr.shape}")
    if shape is not None:
        for axis, (got, want) in enumerate(zip(arr.shape, shape)):
            if want is not None and got != want:
                hint = ""
                if arr.ndim == 2 and all(w is None or w == g for w, g in zip(shape, arr.shape[::-1])):
                    hint = " -- it looks transposed"
                raise ValueError(
                    f"{name} must have shape {_fmt_shape(shape)}, got {arr.shape} "
                    f"(axis {axis} is {got}, expected {want}){hint}"
                )
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf entries")
    if arr.size and bound is not None:
        big = float(np.max(np.abs(arr)))
        if big > bound:
            raise ValueError(f"{name} has an entry of size {big:.3g}; entries must satisfy |{name}| <= "
                             f"{bound:g} (ccsolve.core.validation.MAX_ABS: larger values overflow the loss)")
    return arr


def as_matrix(name: str, value, shape: tuple | None = None) -> np.ndarray:
    """Return `value` as a finite, real float64 2-D array with |entries| <= MAX_ABS, checking its shape.

    `shape` entries may be None (any size along that axis).
    """
    return as_array(name, value, (2,), shape)


def square_matrix(name: str, value) -> np.ndarray:
    m = as_matrix(name, value)
    if m.shape[0] != m.shape[1]:
        raise ValueError(f"{name} must be square (n_features, n_features), got shape {m.shape}")
    return m


def bounded(name: str, value: float, limit: float, why: str = "") -> float:
    """value with |value| <= limit, else a ValueError naming the parameter and the limit."""
    if abs(value) > limit:
        raise ValueError(f"{name}={value:g} is too large: |{name}| must be <= {limit:g}"
                         + (f" ({why})" if why else ""))
    return value


def sample_count(name: str, value, minimum: int = 1, limit: int = MAX_SAMPLES) -> int:
    """A sample count in [minimum, limit] (limit: MAX_SAMPLES, what can finish)."""
    value = positive_int(name, value, minimum)
    if value > limit:
        raise ValueError(f"{name}={value} is more than can finish: {name} must be <= {limit:.3g}"
                         + (" (ccsolve.core.validation.MAX_SAMPLES)" if limit == MAX_SAMPLES else ""))
    return value


def needed_samples(n: float, tol: float, limit: int = MAX_SAMPLES) -> int:
    """The sample count a pilot says reaches `tol`, refused (naming tol) if above `limit` or not finite."""
    if not np.isfinite(n) or n > limit:
        raise ValueError(f"tol={tol:g} would need about {n:.3g} samples, more than can finish (limit "
                         f"{limit:.3g}, ccsolve.core.validation.MAX_SAMPLES); use a larger tol")
    return int(n)


def output_dir(name: str, path) -> str:
    """Check that `path` can be an output directory before any work: create it and probe a write.

    Raises ValueError naming `name` for an empty path, an existing file, a path under a file or a
    place that cannot be written (one line, for a CLI's exit 2).
    """
    import os
    import tempfile

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a directory path, got {type(path).__name__}")
    path = os.fspath(path)
    if not path.strip():
        raise ValueError(f"{name} must be a directory path, got an empty string")
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"{name} {path!r} is an existing file, not a directory")
    parent = os.path.abspath(path)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise ValueError(f"{name} {path!r} is under {parent!r}, which is a file, not a directory")
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path, prefix=".tmp-probe-"):
            pass
    except OSError as exc:
        raise ValueError(f"{name} {path!r} cannot be written: {exc.strerror or exc}") from None
    return path


def _fmt_shape(shape) -> str:
    return "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"


def positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def boolean(name: str, value) -> bool:
    """value as a bool; numpy bools accepted, anything else (0/1, strings, None) a TypeError naming `name`."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return bool(value)


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


def seed_int(seed) -> int:
    """A plain int seed >= 0 (for code that derives several streams from one int); no Generator or None."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int >= 0, got {type(seed).__name__} {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed}")
    return int(seed)


def choice(name: str, value, options) -> str:
    try:
        ok = value in options
    except TypeError:  # unhashable, e.g. a list
        ok = False
    if not ok and not isinstance(value, (str, numbers.Number, type(None))):
        raise TypeError(f"{name} must be one of {sorted(options)!r}, got {type(value).__name__} {value!r}")
    if not ok:
        raise ValueError(f"{name} must be one of {sorted(options)!r}, got {value!r}")
    return value


def c_float64(a) -> np.ndarray:
    """A writable C-contiguous float64 copy of `a`: the one layout the Numba kernels are compiled for
    (Weights' own arrays are read-only)."""
    return np.array(a, dtype=np.float64, order="C", copy=True)


def vector(name: str, value) -> np.ndarray:
    """A non-empty finite 1-D float64 array, or an error naming `name`."""
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a 1-D array of numbers, got {type(value).__name__}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a 1-D array of numbers ({exc})") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf entries")
    return arr
