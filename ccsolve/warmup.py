"""Compile (or load from Numba's on-disk cache) the kernels a command needs, before its timed work.

The first run after installing compiles every Numba kernel it touches (minutes on a 2-core machine);
later runs load them from the cache in about a second. `warm` does that work up front, as its own
progress stage ("compiling kernels (first run only)"), so the command's own bars are not frozen with a
bogus ETA while the first call of a kernel compiles. It compiles exactly the signatures the package's
call sites use (every argument float64/int64/uint64/bool, C-contiguous: the call sites convert at the
edges), by `dispatcher.compile(signature)`: nothing is run.

    from ccsolve import warmup
    warmup.warm(warmup.kernels_for("compare", train=True), progress=True)

or from a shell: `python -m ccsolve.warmup compare` (`--list` shows the kernels and whether each is
cached). `python -m ccsolve.compare` does this itself on a cold cache, with the kernels of its last rows
compiled meanwhile by a second process (`compile_in_background`, `Background.wait`). Imports only
ccsolve._kernels (and NumPy, Numba, tqdm for the bar).

If a kernel's arguments change and its spec here is not updated, `warm` reports that kernel as failed
(it is then compiled at its first real call, as without warm-up): it never raises for it.
"""

from __future__ import annotations

import importlib
import sys
import time
from dataclasses import dataclass, field

import numpy as np

__all__ = ["COMMANDS", "KERNELS", "OPT_LEVEL", "Background", "WarmupReport", "compile_in_background", "is_cached",
           "kernels_for", "warm"]

# tiny sizes: only the types matter (n features, d neurons, c chunks)
_N, _D, _C = 4, 3, 2


def _f(*shape):
    return np.zeros(shape, dtype=np.float64)


def _r(*shape):  # read-only: a call site passing a Task or Weights field (its own Numba signature)
    a = np.zeros(shape, dtype=np.float64)
    a.flags.writeable = False
    return a


def _i(*shape):
    return np.zeros(shape, dtype=np.int64)


def _u(*shape):
    return np.zeros(shape, dtype=np.uint64)


def _mc_arrays():
    # stratified._Products.mc_arrays(): w_in_t, w_out, gram, M^T W_out, M^T, M^T M, c_pos, c_neg
    return (_f(_N, _D), _f(_N, _D), _f(_D, _D), _f(_N, _D), _f(_N, _N), _f(_N, _N), _f(_N), _f(_N))


def _strata_chunks():  # stratified._sample
    return (*_mc_arrays(), _i(_C), _i(_C), _u(_C), 4)


def _pair_blocks():  # stratified._pair_kernel
    return (_f(_N, _D), _f(_D, _D), _f(_N, _D), _f(_N, _D), _f(_N, _N), _f(_N, _N), _f(_N, _N), _f(_N, _N),
            _i(6), _i(6), _i(3), False)


def _moments_chunks():  # constructions._readout_moments
    return (_f(_N, _D), _f(_N - 1), _i(_C), _u(_C))


def _nnls_gram():  # constructions._b_step
    return (_f(_D, _D), _f(_D, _N), _f(_D, _N), 1e-12, 100)


def _spd_solve():  # constructions._ls_readout, _one_hot_readout
    return (_f(_D, _D), _f(_D, _N), _f(_D, _N), 1e-10)


def _cd_nmf_update():  # constructions._nmf_sklearn_like
    return (_f(_N, _D), _f(_D, _D), _f(_N, _D))


def _sparse_block():  # train.train, path="sparse"
    work = _train_work()
    return (_f(_N, _D), _f(_N, _D), _f(1), _f(_N, _D), _f(_N, _D), _f(_N, _D), _f(_N, _D), _f(1), _f(1),
            _f(_N, _N), _f(_N, _N), _f(_N, _N), _f(_N), True, False, 0.01, _f(_N + 1), False, _u(3, _C), _f(3),
            0, 0.01, 0.9, 0.999, 1e-8, 1.0, _f(3), _f(3), *work.args())


def _bernoulli_chunks():  # loss.monte_carlo, sparse path (after montecarlo.prepare)
    return (_f(_N, _D), _r(_N, _D), _f(_D, _D), _f(_N, _D), _f(_N, _N), _f(_N, _N), _f(_N), _f(_N), 0.01,
            _i(_C), _u(_C))


def _prepare():  # loss.monte_carlo, sparse path (the Weights and Task fields, read-only)
    return (_r(_D, _N), _r(_N, _D), _r(_N, _N))


def _one_hot_chunks():  # loss.monte_carlo, one-hot task
    return (_f(_N), _f(_N), _i(_C), _u(_C))


def _dense_chunks():  # loss._dense_chunks (p >= DENSE_P)
    return (_f(_N, _D), _f(_D, _N), _f(_N, _N), 0.6, _i(_C), _u(_C), 64)


def _pair_split_blocks():  # optimize._fast.ProjectedEvaluator (minimize_exact, fused=True)
    return (_f(_N, _D), _f(_D, _D), _f(_N, _D), _f(_N, _D), _i(6), _i(6), _i(3), True, False)


def _gather():  # optimize._fast (tail samples)
    return (_i(5, 3), _f(5, 3), _i(5), _f(_N, _D), _f(0, _D), False)


def _scatter():  # optimize._fast (tail samples)
    return (_i(5, 3), _f(5, 3), _i(5), _f(5, _D), _N, _i(3), True)


def _draw_stratum():  # optimize.exact.ExactObjective._draw (tail samples)
    return (_N, 3, _i(_C), _u(_C))


def _tail_blocks():  # optimize.exact.ExactObjective._tail
    return (_f(_N, _D), _f(_N, _D), _f(_D, _D), _f(_N, _D), _f(_N, _N), _f(_N, _N), _i(5, 3), _f(5, 3), _i(5),
            _f(5), _i(3), True)


def _dense_inputs():  # tests/test_loss.py (the sampler inside dense_chunks, on its own)
    return (_f(_C, _N), 0.5, _u(_C))


def _sample_error():  # tests/test_loss.py (the per-sample routine of strata_chunks, on its own)
    return (_i(3), _f(3), 3, _f(_N, _D), _r(_D, _D), _f(_N, _D), _f(_N, _D), _f(_N, _N), _f(_N, _N), _f(_N), _f(_N),
            _f(_D), _i(_D), _f(_N))


def _train_work():
    from ._kernels import train as k

    return k.Work(_N, _D, np.full(_C, 5, dtype=np.int64))


def _draw_batch():  # train.train, path="dense"
    return (0.01, _f(_N + 1), False, _N, _i(1), _u(1), _i(6), _i(5 * _N), _f(5 * _N), np.zeros(_N, dtype=np.bool_))


def _csr_to_dense():  # train.train, path="dense"
    return (_i(6), _i(5 * _N), _f(5 * _N), _f(5, _N))


def _adamw():  # train.train (path="dense"), residual.train
    return (_f(_N, _D), _f(_N, _D), _f(_N, _D), _f(_N, _D), 0.01, 0.01, 0.9, 0.999, 1e-8, 1)


def _batch_gradient():  # train.sparse_gradients
    return (False, 0.0, _f(_N + 1), False, _u(_C), _f(_N, _D), _f(_N, _D), _f(_D, _D), _f(_N, _D), _f(_N, _N),
            _f(_N, _N), _f(_N, _N), _f(_N), 1.0, False, _f(_N, _D), *_train_work().args())


def _output_gradient():  # train.sparse_gradients
    w = _train_work()
    return (w.bounds, _f(_N, _D), w.amat, _f(_N, _N), w.cmat, w.rmat, 1.0, False, _f(_N, _D))


def _draw_rows():  # residual: evaluation, constructions, trainer (gram: the task's, read-only)
    return (_N, _f(_N + 1), np.uint64(1), 8, _r(_N, _N), _f(_N), _f(_N), _f(8, _N), _f(8, _N),
            np.zeros(_N, dtype=np.bool_))


def _mom(*extra):  # evaluation.moments: w (d, n), p, damping c (d,), period t (d,), then the kernel's own
    return (_f(_D, _N), 0.5, _f(_D), _f(_D), *extra)


def _trig_tables():
    return (_f(_D, _N), _f(_D), 8)


def _one_dim_fast():
    return _mom(_i(_D), _f(_D, 9, _N), _f(_D, 9, _N), 3)


def _two_dim_fast():  # also grad_two_dim_fast, grad_two_dim
    return _mom(_i(_D), _i(3), _i(3), _f(_D, 9, _N), _f(_D, 9, _N), 3, 1e-10)


def _two_dim_multi():  # w, ps (P,), c, t, k_max (P, d), pairs, tables, kmin, thr (P,)
    return (_f(_D, _N), _f(2), _f(_D), _f(_D), _i(2, _D), _i(3), _i(3), _f(_D, 9, _N), _f(_D, 9, _N), 3, _f(2))


def _one_dim_multi():  # w, ps (P,), c, t, k_max (d,), tables, kmin
    return (_f(_D, _N), _f(2), _f(_D), _f(_D), _i(_D), _f(_D, 9, _N), _f(_D, 9, _N), 3)


def _grad_one_dim():
    return _mom(_i(_D), 3, _f(_D, _N), _f(_D, _N))


# name -> (module in ccsolve._kernels, function, factory of arguments with the call site's types,
#          compile seconds measured by benchmarks/compile_times.py (2026-12-03, load ~6), used to split work
#          over processes)
KERNELS = {
    "sparse_block": ("train", "sparse_block", _sparse_block, 68),
    "strata_chunks": ("strata", "strata_chunks", _strata_chunks, 53),
    "pair_blocks": ("pairs", "pair_blocks", _pair_blocks, 10),
    "moments_chunks": ("readout", "moments_chunks", _moments_chunks, 16),
    "nnls_gram": ("nnls", "nnls_gram", _nnls_gram, 6),
    "spd_solve": ("nnls", "spd_solve", _spd_solve, 2),
    "cd_nmf_update": ("nnls", "cd_nmf_update", _cd_nmf_update, 0.4),
    "prepare": ("montecarlo", "prepare", _prepare, 5),
    "bernoulli_chunks": ("montecarlo", "bernoulli_chunks", _bernoulli_chunks, 60),
    "one_hot_chunks": ("montecarlo", "one_hot_chunks", _one_hot_chunks, 5),
    "dense_chunks": ("montecarlo", "dense_chunks", _dense_chunks, 20),
    "pair_split_blocks": ("pairs_split", "pair_split_blocks", _pair_split_blocks, 17),
    "gather": ("tail_dense", "gather", _gather, 2.3),
    "scatter": ("tail_dense", "scatter", _scatter, 9),
    "draw_stratum": ("tail", "draw_stratum", _draw_stratum, 2.8),
    "tail_blocks": ("tail", "tail_blocks", _tail_blocks, 8),
    # below: seconds in one process compiling every kernel in turn (2026-12-03, load ~2.5:
    # `NUMBA_CACHE_DIR=$(mktemp -d) python -m ccsolve.warmup NAMES...` prints them; callees already
    # compiled for an earlier kernel are not counted again)
    "dense_inputs": ("montecarlo", "dense_inputs", _dense_inputs, 1),
    "sample_error": ("montecarlo", "_sample_error", _sample_error, 3),
    "draw_batch": ("train", "draw_batch", _draw_batch, 2),
    "csr_to_dense": ("train", "csr_to_dense", _csr_to_dense, 0.5),
    "adamw": ("train", "adamw", _adamw, 1),
    "batch_gradient": ("train", "batch_gradient", _batch_gradient, 15),
    "output_gradient": ("train", "output_gradient", _output_gradient, 3),
    "draw_rows": ("residual", "draw_rows", _draw_rows, 3),
    "trig_tables": ("moments", "trig_tables", _trig_tables, 1),
    "one_dim_fast": ("moments", "one_dim_fast", _one_dim_fast, 3),
    "two_dim_fast": ("moments", "two_dim_fast", _two_dim_fast, 5),
    "grad_one_dim": ("moments", "grad_one_dim", _grad_one_dim, 3),
    "two_dim_multi": ("moments_multi", "two_dim_multi", _two_dim_multi, 10),
    "one_dim_multi": ("moments", "one_dim_multi", _one_dim_multi, 5),
    "grad_two_dim_fast": ("moments", "grad_two_dim_fast", _two_dim_fast, 5),
    # the direct kernels moments.one_dim, two_dim, grad_two_dim: oracles of tests/test_moments.py
    "one_dim": ("moments", "one_dim", lambda: _mom(_i(_D)), 2),
    "two_dim": ("moments", "two_dim", lambda: _mom(_i(_D), _i(3), _i(3)), 3),
    "grad_two_dim": ("moments", "grad_two_dim", _two_dim_fast, 4),
}

# what each command's default run calls (benchmarks/compile_times.py lists them for any command)
COMMANDS = {
    "evaluate": ("strata_chunks", "pair_blocks"),  # loss_per_feature(method="stratified"), loss_curve
    "constructions": ("moments_chunks", "nnls_gram", "spd_solve", "cd_nmf_update"),
    # minimize_exact: fused projected evaluator (pairs_split, tail_dense), tail samples (tail)
    "exact": ("pair_split_blocks", "gather", "scatter", "draw_stratum", "tail_blocks"),
    "train": ("sparse_block",),  # the sparse path (one-hot tasks and p < trainer.DENSE_P)
    "train_dense": ("draw_batch", "csr_to_dense", "adamw"),  # the dense path (BLAS gradients)
    "moments": ("trig_tables", "one_dim_fast", "two_dim_fast", "grad_one_dim", "grad_two_dim_fast",
                "two_dim_multi", "one_dim_multi"),
    "residual": ("draw_rows", "adamw"),
    "monte_carlo": ("prepare", "bernoulli_chunks", "one_hot_chunks", "dense_chunks"),
}


def kernels_for(command: str = "compare", *, train: bool = True, one_hot: bool = False) -> tuple:
    """Kernel names a command needs: "compare" (its table; train=False without the trained row,
    one_hot=True for --one-hot, where no stratified evaluation runs), or a key of COMMANDS."""
    if command == "compare":
        names = list(COMMANDS["constructions"])
        if not one_hot:
            names += COMMANDS["evaluate"] + COMMANDS["exact"]
        if train:
            names += COMMANDS["train"]
        return tuple(names)
    if command not in COMMANDS:
        raise ValueError(f"command must be 'compare' or one of {sorted(COMMANDS)}, got {command!r}")
    return COMMANDS[command]


def _dispatcher(name: str):
    if name not in KERNELS:
        raise ValueError(f"unknown kernel {name!r}; known: {sorted(KERNELS)}")
    mod, fn, _, _ = KERNELS[name]
    return getattr(importlib.import_module(f"ccsolve._kernels.{mod}"), fn)


def _signature(name: str) -> tuple:
    from numba import typeof

    return tuple(typeof(a) for a in KERNELS[name][2]())


def is_cached(name: str) -> bool | None:
    """True if the kernel's signature is in memory or in the on-disk cache index, False if not, None if
    that cannot be told (a Numba internal changed). For display only: `warm` does not rely on it."""
    disp = _dispatcher(name)
    try:
        sig = _signature(name)
        if sig in disp.overloads:
            return True
        cache_file = disp._cache._cache_file
        index = cache_file._load_index()  # {(signature, target magic): file name}, {} if stale or absent
        return any(key[0] == sig for key in index)
    except Exception:  # noqa: BLE001 - private Numba API: unknown, not an error
        return None


@dataclass
class WarmupReport:
    """What `warm` did: kernels loaded from the cache, compiled, or failed (spec out of date), and time."""

    loaded: list = field(default_factory=list)
    compiled: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)
    seconds: float = 0.0
    per_kernel: dict = field(default_factory=dict)


# LLVM optimisation level for kernels compiled here at other than Numba's default 3 (NUMBA_OPT is
# process-wide; this sets it only while warm-up compiles that kernel, under Numba's compiler lock, and the
# cache key does not include it). sparse_block at 2: cold compile 0.77-0.79x, trained weights and loss
# curve bit-identical (no fastmath in it: LLVM keeps IEEE semantics at every level), a 10,000-step train
# 0.76-0.79x (benchmarks/bench_opt_level.py, docs/benchmarks.md "Cold start"). The trainer always
# compiles it through here. Kernels with fastmath flags (pairs, montecarlo) stay at 3: reassociation
# may vectorise differently at another level, and results must not depend on who compiled the cache.
OPT_LEVEL = {"sparse_block": 2}


def _compile(disp, sig, level) -> None:
    if level is None:
        disp.compile(sig)
        return
    from numba.core import config
    from numba.core.compiler_lock import global_compiler_lock

    with global_compiler_lock:  # no other thread compiles at this level meanwhile
        old = config.OPT
        config.OPT = config._OptLevel(level)
        try:
            disp.compile(sig)
        finally:
            config.OPT = old


def _compile_one(name: str, report: WarmupReport) -> None:
    t0 = time.perf_counter()
    try:
        disp = _dispatcher(name)
        sig = _signature(name)
        if sig in disp.overloads:
            report.loaded.append(name)
            return
        hits = sum(disp.stats.cache_hits.values())
        _compile(disp, sig, OPT_LEVEL.get(name))
        (report.loaded if sum(disp.stats.cache_hits.values()) > hits else report.compiled).append(name)
    except Exception as exc:  # noqa: BLE001 - a stale spec must not break the command
        report.failed[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    finally:
        report.per_kernel[name] = time.perf_counter() - t0


def _split(names: list, processes: int) -> list:
    """Greedy split by measured cost: the largest kernels first, each to the least loaded process."""
    groups = [[] for _ in range(processes)]
    load = [0.0] * processes
    for name in sorted(names, key=lambda n: -KERNELS[n][3]):
        i = load.index(min(load))
        groups[i].append(name)
        load[i] += KERNELS[name][3]
    return groups


def warm(kernels=None, *, progress: bool = True, processes: int | None = None, desc: str | None = None,
         file=None) -> WarmupReport:
    """Compile or load `kernels` (names of KERNELS; default: kernels_for("compare")).

    progress    one tqdm bar "compiling kernels (first run only)", shown only if something must be
                compiled (a warm cache loads everything in about a second, silently)
    processes   compile in this many processes at once (the others write to the same on-disk cache,
                then this one loads their kernels; Numba compiles on one core per process). Default 1:
                the gain of 2 on an idle 2-core machine is not measured yet (the shared machine was at
                load 9-18 during issue 17's work), so it is opt-in.
    Returns a WarmupReport; never raises for a kernel whose spec is out of date (see report.failed).
    """
    names = _known(kernels_for("compare") if kernels is None else kernels)
    t0 = time.perf_counter()
    report = WarmupReport()
    todo = [n for n in names if not is_cached(n)]  # None (unknown) counts as not cached
    if processes is None:
        processes = 1
    if processes < 1:
        raise ValueError(f"processes must be >= 1, got {processes}")
    from tqdm.auto import tqdm

    show = progress and bool(todo)
    # no rate or ETA: kernels differ 100-fold in compile time, an ETA from the first ones is bogus
    with tqdm(total=len(names), desc=desc or "compiling kernels (first run only)", disable=not show,
              leave=False, file=file, unit="kernel",
              bar_format="{desc}: {n_fmt}/{total_fmt} kernels, {elapsed}{postfix}") as bar:
        children = []
        if processes > 1 and len(todo) >= 2:
            groups = _split(todo, processes)
            children = [_spawn(group) for group in groups[1:] if group]
            mine = groups[0]
            later = [n for n in names if n not in mine]
            order = mine + later
        else:
            order, later = names, []
        for i, name in enumerate(order):
            if children and i == len(order) - len(later):  # our share done: wait for the others' cache
                bar.set_postfix_str("waiting for the other compile process", refresh=True)
                for ch in children:
                    ch.wait()
                children = []
            bar.set_postfix_str(name, refresh=True)
            _compile_one(name, report)
            bar.update(1)
        for ch in children:
            ch.wait()
    report.seconds = time.perf_counter() - t0
    return report


class Background:
    """Kernels compiled by another Python process into the shared on-disk cache, while this one works.

    The process compiles them in the order given and each is in the cache as soon as it is done:
    `wait(names)` blocks until those are cached (or the process has ended) and then they load from the
    cache at their first call. While waiting it shows one bar with the elapsed time (or, given `bar`, a
    note on that bar), only if there is something to wait for. `close()` stops the process if it still
    runs (an interrupted command). If the process fails, nothing breaks: the kernels are compiled at their
    first call, as without it.
    """

    def __init__(self, names: list, proc):
        self.names = list(names)
        self._proc = proc

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _missing(self, names) -> list:
        return [n for n in names if n in self.names and not is_cached(n)]

    def wait(self, names=None, progress: bool = True, desc: str = "compiling kernels (first run only)",
             bar=None, file=None) -> None:
        names = self.names if names is None else list(names)
        if not self.running() or not self._missing(names):
            return
        own = None
        if progress and bar is None:
            from tqdm.auto import tqdm

            own = tqdm(total=None, desc=desc, leave=False, file=file,
                       bar_format="{desc}: {elapsed} (" + ", ".join(self._missing(names)) + ")")
        elif progress:
            bar.set_postfix_str("waiting for its kernels to compile (first run only)", refresh=True)
        try:
            while self.running() and self._missing(names):
                time.sleep(0.25)
                if own is not None:
                    own.refresh()
        finally:
            if own is not None:
                own.close()
            elif progress:
                bar.set_postfix_str("", refresh=False)

    def close(self) -> None:
        if self.running():
            self._proc.terminate()
        if self._proc is not None:
            self._proc.wait()
        self._proc = None


def compile_in_background(names) -> Background:
    """Start one process compiling `names` (kernels of KERNELS) into the on-disk cache (NUMBA_CACHE_DIR
    or __pycache__, as this process); returns its Background handle. Its output is discarded."""
    names = _known(names)
    if not names:
        return Background([], None)
    return Background(names, _spawn(names))


def _known(names) -> list:
    """names as a list, each checked against KERNELS."""
    names = list(names)
    for name in names:
        if name not in KERNELS:
            raise ValueError(f"unknown kernel {name!r}; known: {sorted(KERNELS)}")
    return names


def _spawn(names: list):
    """A `python -m ccsolve.warmup --quiet` process compiling `names` into the shared on-disk cache (the
    same ccsolve as this process, wherever it was imported from; its output discarded)."""
    import os
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + (os.pathsep + os.environ["PYTHONPATH"]
                                              if os.environ.get("PYTHONPATH") else ""))
    return subprocess.Popen([sys.executable, "-m", "ccsolve.warmup", "--quiet", "--processes", "1", *names],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env)


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m ccsolve.warmup", description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="kernels, or a command: compare, " + ", ".join(COMMANDS)
                    + " (default: compare)")
    ap.add_argument("--list", action="store_true", help="list the kernels and whether each is cached")
    ap.add_argument("--processes", type=int, default=None, help="compile processes (default: 1)")
    ap.add_argument("--quiet", action="store_true", help="no progress bar, no report")
    a = ap.parse_args(argv)
    names = []
    for n in a.names or ["compare"]:
        names += list(kernels_for(n)) if (n == "compare" or n in COMMANDS) else [n]
    names = list(dict.fromkeys(names))
    if a.list:
        for n in names:
            print(f"{n:18s} {KERNELS[n][0]}.{KERNELS[n][1]:18s} cached={is_cached(n)}")
        return 0
    try:
        r = warm(names, progress=not a.quiet, processes=a.processes)
    except ValueError as exc:
        ap.exit(2, f"{ap.prog}: error: {exc}\n")
    if not a.quiet:
        print(f"warm-up {r.seconds:.1f} s: compiled {len(r.compiled)} {r.compiled}, loaded {len(r.loaded)}, "
              f"failed {r.failed or 0}")
        for n, s in sorted(r.per_kernel.items(), key=lambda x: -x[1]):
            print(f"  {n:18s} {s:7.2f} s")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
