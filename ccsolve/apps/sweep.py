"""Sweeps: a grid of configurations run through any `concurrent.futures.Executor`, cached on disk.

    from ccsolve.sweep import grid, run_sweep, evaluate_point
    configs = grid(mixing="random", sigma=[0.01, 0.02, 0.03], seed=[0, 1], one_hot=True, method="exact")
    res = run_sweep(evaluate_point, configs, cache_dir="cache/sigma")
    for config, result in res:
        print(config["sigma"], result["loss_per_feature"])

A configuration is a JSON-serialisable dict; a point function `fn(config) -> dict` is a picklable
top-level function whose result depends only on its config (seeds live in the config), so a process
pool, a Dask cluster and a serial loop give identical results. Each finished point is written to
`<cache_dir>/<cache_key(fn, config)>.json` (atomically, as soon as it finishes), so an interrupted or
extended sweep recomputes nothing already done. See docs/sweeps.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import multiprocessing
import os
import pickle
import time
import warnings
from collections.abc import Mapping
from concurrent.futures import CancelledError, Executor, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np

from ..core import validation as v
from ..core.results import Result
from ..core.io import _json_default, atomic_write_json
from ..core.progress import progress_bar

__all__ = [
    "SweepResult",
    "PointError",
    "grid",
    "run_sweep",
    "cache_key",
    "function_name",
]

# the CC point functions live in ccsolve.apps.points; these names stay importable from here
_POINT_NAMES = ("make_task", "evaluate_point", "train_point", "TASK_DEFAULTS", "EVAL_DEFAULTS", "MIXING_KINDS",
                "TRAIN_KEYS")


def __getattr__(name):
    if name in _POINT_NAMES:
        from . import points

        return getattr(points, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

CACHE_FORMAT = 1
_STABLE_MODULE_NAMES = {"ccsolve.apps.points": "ccsolve.sweep"}

# ---------------------------------------------------------------------------------------------------
# configs, keys, results


def grid(**axes) -> list[dict]:
    """Cartesian product of the axes, as a list of configs.

    Each keyword is a config key; a list, tuple, range or 1-D array gives that axis's values, anything
    else (a number, a string, a dict, None) is a single fixed value. Axes vary in keyword order, the
    last fastest (as itertools.product): grid(a=[1, 2], b=[3, 4]) ->
    [{a:1,b:3}, {a:1,b:4}, {a:2,b:3}, {a:2,b:4}]. An empty axis gives an empty grid.
    """
    names, values = [], []
    for name, value in axes.items():
        if isinstance(value, np.ndarray):
            if value.ndim != 1:
                raise ValueError(f"grid axis {name!r} must be 1-D, got an array of shape {value.shape}")
            value = value.tolist()
        elif isinstance(value, (list, tuple, range)):
            value = list(value)
        else:
            value = [value]
        names.append(name)
        values.append(value)
    return [dict(zip(names, combo)) for combo in itertools.product(*values)]


def _canonical(obj, what: str) -> str:
    """Canonical JSON: sorted keys at every level, no whitespace, numpy scalars as Python numbers."""
    try:
        return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False,
                          default=_json_default)
    except ValueError as exc:  # NaN / inf
        raise ValueError(f"{what} must be JSON-serialisable without NaN or inf ({exc})") from None
    except TypeError as exc:
        raise TypeError(f"{what} must be JSON-serialisable ({exc})") from None


def _normalise_config(config, what: str = "config") -> dict:
    """The config as plain JSON data (tuples -> lists, numpy scalars -> numbers): what fn receives."""
    if not isinstance(config, Mapping):
        raise TypeError(f"{what} must be a dict, got {type(config).__name__}")
    for k in config:
        if not isinstance(k, str):
            raise TypeError(f"{what} keys must be strings, got {k!r} ({type(k).__name__})")
    _canonical(dict(config), what)  # validates
    # key order as given (the cache key sorts keys; the caller's dicts read better unsorted)
    return json.loads(json.dumps(dict(config), default=_json_default))


def function_name(fn) -> str:
    """'module.qualname' of a point function: the part of the cache key that names it."""
    if isinstance(fn, str):
        return fn
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    module = getattr(fn, "__module__", None) or type(fn).__module__
    qualname = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    # the built-in point functions keep the name they had before the package was split, so that
    # existing caches stay valid
    module = _STABLE_MODULE_NAMES.get(module, module)
    return f"{module}.{qualname}"


def cache_key(fn, config) -> str:
    """sha256 hex digest of the canonical JSON {"config": config, "function": function_name(fn)}.

    Canonical JSON: keys sorted at every level, separators (",", ":"), ASCII, numpy scalars and
    arrays as Python numbers and lists. So the key does not depend on dict key order, and 1 and 1.0
    are different keys. `fn` may be the function or its name.
    """
    doc = {"config": _normalise_config(config), "function": function_name(fn)}
    return hashlib.sha256(_canonical(doc, "config").encode("ascii")).hexdigest()


class PointError(RuntimeError):
    """A point function raised; `config` is the failing point's config, `__cause__` the original error."""

    def __init__(self, message: str, config: dict):
        super().__init__(message)
        self.config = config


@dataclass(frozen=True)
class SweepResult(Result):
    """The outcome of run_sweep.

    points    list of (config, result) in the order of the configs given (configs normalised to
              plain JSON data; results are dicts of JSON data: arrays come back as lists)
    computed  distinct configs computed in this call
    cached    distinct configs read from the cache
    corrupt   cache files found unreadable or inconsistent (ignored, recomputed, overwritten)
    seconds   wall time of the call
    function  the point function's name ('module.qualname', part of the cache key)
    cache_dir the cache directory or None
    """

    points: list
    computed: int
    cached: int
    corrupt: int = 0
    seconds: float = 0.0
    function: str = ""
    cache_dir: str | None = None

    @property
    def configs(self) -> list[dict]:
        return [c for c, _ in self.points]

    @property
    def results(self) -> list[dict]:
        return [r for _, r in self.points]

    def __len__(self):
        return len(self.points)

    def __iter__(self):
        return iter(self.points)

    def __getitem__(self, i):
        return self.points[i]

    def to_dict(self) -> dict:
        return {
            "function": self.function,
            "computed": self.computed,
            "cached": self.cached,
            "corrupt": self.corrupt,
            "seconds": self.seconds,
            "cache_dir": self.cache_dir,
            "points": [{"config": c, "result": r} for c, r in self.points],
        }

    def __repr__(self):
        return (f"SweepResult({len(self.points)} points, computed={self.computed}, cached={self.cached}, "
                f"corrupt={self.corrupt}, function={self.function!r})")


def _call_point(fn, config: dict):
    """Runs in the worker: the point, its result as plain JSON data, and its wall time."""
    t0 = time.perf_counter()
    result = fn(config)
    seconds = time.perf_counter() - t0
    if not isinstance(result, Mapping):
        raise TypeError(f"point function {function_name(fn)} must return a dict, got {type(result).__name__}")
    try:
        # NaN/inf are kept (a diverged point is still a result); JSON writes them as NaN/Infinity
        text = json.dumps(dict(result), default=_json_default)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"point function {function_name(fn)} returned data that is not JSON-serialisable "
                        f"({exc}); convert it (numpy arrays are fine)") from None
    return json.loads(text), seconds


def _read_cache(path: str, config: dict, name: str):
    """The cached result, None if absent, or the string 'corrupt'."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, UnicodeDecodeError):
        return "corrupt"
    if (not isinstance(doc, dict) or doc.get("function") != name or doc.get("config") != config
            or not isinstance(doc.get("result"), dict)):
        return "corrupt"
    return doc["result"]


def _write_cache(path: str, key: str, name: str, config: dict, result: dict, seconds: float) -> None:
    from .. import __version__

    atomic_write_json(path, {
        "format": CACHE_FORMAT,
        "key": key,
        "function": name,
        "config": config,
        "result": result,
        "ccsolve_version": __version__,
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": seconds,
    })


# ---------------------------------------------------------------------------------------------------
# executors


def _worker_init(numba_threads: int) -> None:
    # n_workers processes each running parallel Numba kernels on every core would oversubscribe;
    # results do not depend on the thread count (per-chunk seeds), only the speed does.
    try:
        import numba

        numba.set_num_threads(max(1, min(numba_threads, numba.config.NUMBA_NUM_THREADS)))
    except Exception:  # noqa: BLE001 - a worker without numba still runs points
        pass
    try:
        from threadpoolctl import threadpool_limits  # optional: BLAS pools, same reason

        threadpool_limits(numba_threads)
    except Exception:  # noqa: BLE001
        pass


_THREAD_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def _default_pool(max_workers: int | None, n_points: int) -> tuple[ProcessPoolExecutor, dict]:
    """Our process pool, and the environment its workers must start with (see _run_pool)."""
    cores = os.cpu_count() or 1
    workers = max_workers if max_workers is not None else cores
    workers = max(1, min(workers, max(n_points, 1)))
    threads = max(1, cores // workers)
    # forkserver: children fork from a clean single-threaded server, not from a parent that may have
    # Numba/BLAS thread pools running (fork-unsafe); preloading ccsolve keeps worker start-up cheap.
    methods = multiprocessing.get_all_start_methods()
    method = "forkserver" if "forkserver" in methods else "spawn"
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(["ccsolve", "ccsolve.sweep"])
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init,
                               initargs=(threads,))
    # BLAS libraries read these when numpy is imported, i.e. in the forkserver or spawned worker, before
    # any initializer runs; OpenBLAS threads spin while waiting, so workers x cores BLAS threads on
    # `cores` cores made a 100x200 SVD take a second. One thread, not cores // workers: the forkserver
    # outlives this pool and later pools may have more workers. Variables the user set are left alone.
    env = {name: "1" for name in _THREAD_ENV if name not in os.environ}
    return pool, env


@contextlib.contextmanager
def _environ(env: dict):
    """os.environ updated with env inside the block (for processes started there), restored after."""
    for name, value in env.items():
        os.environ[name] = value
    try:
        yield
    finally:
        for name in env:
            os.environ.pop(name, None)


def _check_executor(executor, max_workers):
    if executor is None or (isinstance(executor, str) and executor in ("process", "serial")):
        if max_workers is not None:
            max_workers = v.positive_int("max_workers", max_workers)
            if executor == "serial" and max_workers != 1:
                raise ValueError("max_workers applies to the default process pool; executor='serial' runs "
                                 f"one point at a time (max_workers None or 1), got {max_workers}")
        return "process" if executor is None else executor
    if isinstance(executor, Executor):
        if max_workers is not None:
            raise ValueError("max_workers applies to the default process pool; size your own executor instead")
        return executor
    raise TypeError("executor must be None (a local process pool), 'process', 'serial' or a "
                    f"concurrent.futures.Executor instance, got {executor!r}")


# ---------------------------------------------------------------------------------------------------
# run_sweep


def run_sweep(fn, configs, cache_dir=None, executor=None, max_workers: int | None = None,
              progress: bool = True) -> SweepResult:
    """Run `fn(config)` for every config, through an executor, with an on-disk cache.

    fn          picklable top-level function config -> dict of JSON-serialisable data (numpy arrays
                and scalars are converted to lists and numbers); its result must depend only on its
                config. Built-ins: evaluate_point, train_point.
    configs     iterable of dicts with string keys and JSON-serialisable values (e.g. from `grid`);
                fn receives each as plain JSON data. Duplicate configs are computed once.
    cache_dir   directory for `<cache_key(fn, config)>.json` files, or None (no cache). Points found
                there are not recomputed; each finished point is written atomically as soon as it
                finishes; unreadable or inconsistent files are ignored, recomputed and overwritten.
    executor    None or 'process': a local ProcessPoolExecutor of `max_workers` processes (default
                os.cpu_count(), forkserver start method where available); 'serial': in this process;
                or any concurrent.futures.Executor, e.g. dask.distributed.Client(...).get_executor()
                (not shut down here).
    max_workers size of the default process pool (None or 1 with executor='serial').
    progress    tqdm bar over points (cached points count as done at the start).

    Returns a SweepResult (points in config order, computed/cached/corrupt counts). If a point raises,
    points not yet started are cancelled, the running ones finish and are cached, and PointError is
    raised naming the failing config (the original exception is its __cause__).
    """
    t0 = time.perf_counter()
    if not callable(fn):
        raise TypeError(f"fn must be callable (a top-level function config -> dict), got {type(fn).__name__}")
    kind = _check_executor(executor, max_workers)
    progress = v.boolean("progress", progress)
    name = function_name(fn)
    if isinstance(configs, (Mapping, str, bytes)) or not hasattr(configs, "__iter__"):
        raise TypeError(f"configs must be a list of dicts (e.g. from ccsolve.sweep.grid), got {type(configs).__name__}")
    norm = [_normalise_config(c, f"configs[{i}]") for i, c in enumerate(configs)]
    if cache_dir is not None:
        if "<lambda>" in name or "<locals>" in name:
            raise ValueError(f"fn {name} cannot be cached: its name does not identify it; use a top-level "
                             "function (or cache_dir=None)")
        cache_dir = os.fspath(cache_dir)
        os.makedirs(cache_dir, exist_ok=True)
    if kind == "process":
        try:
            pickle.dumps(fn)
        except Exception as exc:  # noqa: BLE001 - PicklingError, AttributeError, TypeError...
            raise TypeError(f"fn {name} must be a picklable top-level function to run in a process pool "
                            f"({exc}); use executor='serial' for local functions") from None

    # distinct points, in first-seen order
    keys = [cache_key(name, c) for c in norm]
    unique: dict[str, dict] = {}
    for k, c in zip(keys, norm):
        unique.setdefault(k, c)
    results: dict[str, dict] = {}
    corrupt = 0
    if cache_dir is not None:
        for k, c in unique.items():
            got = _read_cache(os.path.join(cache_dir, k + ".json"), c, name)
            if got == "corrupt":
                corrupt += 1
            elif got is not None:
                results[k] = got
    n_cached = len(results)
    if corrupt:
        warnings.warn(f"{corrupt} unreadable or inconsistent cache file(s) in {cache_dir} ignored; "
                      "recomputing those points", RuntimeWarning, stacklevel=2)
    todo = [k for k in unique if k not in results]

    bar = progress_bar(progress, len(unique), f"sweep {name.rsplit('.', 1)[-1]}", unit="pt", initial=n_cached, leave=True)

    def finish(k, out):
        result, seconds = out
        if cache_dir is not None:
            _write_cache(os.path.join(cache_dir, k + ".json"), k, name, unique[k], result, seconds)
        results[k] = result
        bar.update(1)

    try:
        if kind == "serial":
            for k in todo:
                try:
                    out = _call_point(fn, unique[k])
                except Exception as exc:
                    raise PointError(f"sweep point failed: config={unique[k]}: {exc!r}", unique[k]) from exc
                finish(k, out)
        elif todo:
            own = kind == "process"
            ex, env = _default_pool(max_workers, len(todo)) if own else (kind, {})
            try:
                _run_pool(ex, fn, todo, unique, finish, env)
            except Exception:  # a point failed: the others are done or cancelled by now
                if own:
                    ex.shutdown(wait=True, cancel_futures=True)
                raise
            except BaseException:  # Ctrl-C
                if own:
                    _stop_pool(ex)
                raise
            else:
                if own:
                    ex.shutdown(wait=True)
    finally:
        bar.close()
    return SweepResult(
        points=[(c, results[k]) for k, c in zip(keys, norm)],
        computed=len(unique) - n_cached,
        cached=n_cached,
        corrupt=corrupt,
        seconds=time.perf_counter() - t0,
        function=name,
        cache_dir=cache_dir,
    )


def _stop_pool(ex: ProcessPoolExecutor) -> None:
    """Stop our pool now (Ctrl-C, a point error): queued calls would otherwise still run at exit."""
    if hasattr(ex, "terminate_workers"):  # Python >= 3.14
        ex.terminate_workers()
        return
    procs = list((getattr(ex, "_processes", None) or {}).values())  # shutdown() forgets them
    ex.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        if proc.is_alive():
            proc.terminate()


def _run_pool(ex: Executor, fn, todo, unique, finish, env: dict) -> None:
    with _environ(env):  # a process pool starts its workers (and the forkserver) in submit
        futures = {ex.submit(_call_point, fn, unique[k]): k for k in todo}
    failure = None
    try:
        for fut in as_completed(futures):
            k = futures[fut]
            try:
                out = fut.result()
            except CancelledError:
                continue
            except Exception as exc:
                if failure is None:
                    failure = (k, exc)
                    # stop what has not started; what is running finishes and is cached below
                    for f in futures:
                        f.cancel()
                continue
            finish(k, out)
    except BaseException:
        for f in futures:
            f.cancel()
        raise
    if failure is not None:
        k, exc = failure
        raise PointError(f"sweep point failed: config={unique[k]}: {exc!r}", unique[k]) from exc
