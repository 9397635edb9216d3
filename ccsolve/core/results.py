"""The one result protocol: every public result is a frozen dataclass deriving from Result.

Result gives `to_dict()` (JSON-safe, built from the fields: arrays become lists, Weights become
{"W_in": ..., "W_out": ...}, nested results become dicts) and a readable repr listing the scalar fields.
Solver results share their core fields with one meaning each (see SolverResult).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

__all__ = ["Result", "SolverResult", "to_jsonable"]


def to_jsonable(obj):
    """obj as JSON-safe Python: numbers, strings, lists and dicts (non-finite floats stay floats)."""
    if isinstance(obj, Result):
        return obj.to_dict()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if hasattr(obj, "W_in") and hasattr(obj, "W_out"):
        return {"W_in": np.asarray(obj.W_in).tolist(), "W_out": np.asarray(obj.W_out).tolist()}
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer, int)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        return float(obj)
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if obj is None or isinstance(obj, str):
        return obj
    return repr(obj)


def _short(value) -> str | None:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}" if math.isfinite(value) else str(float(value))
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:37] + "...")
    if value is None:
        return "None"
    return None


class Result:
    """Base of every public result (a frozen dataclass): to_dict() and a repr of the scalar fields."""

    def to_dict(self) -> dict:
        """The fields as a JSON-safe dict (arrays as lists, weights as {"W_in", "W_out"})."""
        return {f.name: to_jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def __repr__(self) -> str:
        parts = []
        for f in dataclasses.fields(self):
            s = _short(getattr(self, f.name))
            if s is not None:
                parts.append(f"{f.name}={s}")
        return f"{type(self).__name__}({', '.join(parts)})"


class SolverResult(Result):
    """Shared meaning of a solver's core fields (every construction/optimiser result has them):

    weights    the solution (ccsolve.Weights)
    objective  the value of the function the solver minimised, at `weights` (its docstring says which)
    n_iter     iterations of the returned run
    converged  whether the solver's own stopping rule was met (not an iteration cap)
    seconds    wall time of the whole call
    """
