"""`python -m ccsolve.compare`: every hand-built solution and a trained model, side by side.

Builds the task, every construction, trains a model, evaluates all of them with the same evaluator and
prints one table. `--out DIR` also writes results.json (full config, ccsolve version, every row with its
standard error), the weights (.npz) and PNG plots, each written atomically. `--json` prints the JSON.
Bad options exit with status 2 and a one-line message.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from . import __version__
from .core import validation as v
from .core.results import Result
from .apps.cli import OneLineErrorParser
from .bounds import lower_bound
from .core.io import atomic_write_json
from .core.progress import progress_bar
from .evaluation.closed_forms import (naive_loss, naive_offset_loss, one_hot_loss, one_hot_lower_bound,
                                      optimal_offset, zero_loss)
from .evaluation.loss import loss_per_feature
from .core.mixing import KINDS as MIXING_KINDS
from .core.mixing import make as mixing_matrix
from .core.task import Task
from .core.weights import Weights

__all__ = ["Row", "Comparison", "build_task", "compare", "main"]

MIXINGS = MIXING_KINDS
RESIDUAL_MODELS = ("resid_mlp1", "resid_mlp2", "resid_mlp3")  # ccsolve.residual.PRESETS (not imported here)
# minimize_one_hot iterations in the table: its one-hot loss is within ~1e-3 of the 2000-iteration
# value long before that, and it is the slowest row of a default run
MOH_MAX_ITER = 300


@dataclass(repr=False)
class Row(Result):
    """One solution in the comparison table. `value`/`stderr` are L/p at the task's p (or one-hot)."""

    name: str
    value: float
    stderr: float
    method: str
    one_hot: float
    gap: float
    relative_to_naive: float
    seconds: float
    weights: Weights | None = field(default=None, repr=False)
    diagnostics: dict = field(default_factory=dict)
    gap_at_p: float = float("nan")

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "loss_per_feature": self.value,
            "stderr": self.stderr,
            "method": self.method,
            "one_hot_loss": self.one_hot,
            "gap_to_lower_bound": self.gap,
            "gap_to_bound_at_p": self.gap_at_p,
            "relative_to_naive": self.relative_to_naive if np.isfinite(self.relative_to_naive) else None,
            "seconds_to_build": self.seconds,
            "diagnostics": self.diagnostics,
        }


@dataclass(repr=False)
class Comparison(Result):
    task: Task
    config: dict
    lower_bound: float
    rows: list
    seconds: float
    bound_at_p: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "ccsolve_version": __version__,
            "config": self.config,
            "task": self.task.config(),
            "one_hot_lower_bound": self.lower_bound,
            "lower_bound_at_p": self.bound_at_p,
            "rows": [r.to_dict() for r in self.rows],
            "seconds": self.seconds,
            "machine": {"python": platform.python_version(), "platform": platform.platform(),
                        "cpus": os.cpu_count()},
        }

    def table(self) -> str:
        """Markdown table of the rows."""
        at = "one-hot" if self.task.one_hot else f"p = {self.task.p:g}"
        lines = [
            f"| solution | L/p at {at} ± SE | gap to bound at {at} | one-hot L/p | gap to one-hot bound "
            "| relative to naive | build s |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in self.rows:
            se = "exact" if r.stderr == 0 else f"± {r.stderr:.1e}"
            lines.append(
                f"| {r.name} | {r.value:.5f} {se} | {r.gap_at_p:+.5f} | {r.one_hot:.5f} | {r.gap:+.5f} | "
                f"{r.relative_to_naive:.3f} | {r.seconds:.2f} |"
            )
        if self.bound_at_p:
            lines.append(f"| lower bound at {at} ({self.bound_at_p['name']}) | {self.bound_at_p['value']:.5f} | 0 "
                         "| | | | |")
        lines.append(f"| one-hot lower bound | | | {self.lower_bound:.5f} | 0 | | |")
        return "\n".join(lines)


def build_task(mixing="embedding", sigma=0.025, sign=1, d_embed=1000, p=0.01, one_hot=False,
               n_features=100, n_neurons=50, seed=0) -> Task:
    """The task a compare run uses; `seed` seeds the mixing matrix."""
    m = mixing_matrix(mixing, n_features, sigma=sigma, sign=sign, d_embed=d_embed, seed=seed)
    return Task(m, n_neurons, p, one_hot=one_hot)


def _builders(task: Task, seed: int, steps: int, train: bool, progress: bool):
    """(name, build, own_bar) triples; build() -> (Weights, diagnostics dict, exact L/p or None); own_bar:
    build() shows its own progress bar (training)."""
    from . import constructions as C
    from .optimize.exact import minimize_exact
    from .optimize.one_hot import minimize_one_hot

    out = [
        ("zero", lambda: (Weights(np.zeros((task.n_neurons, task.n_features)),
                                  np.zeros((task.n_features, task.n_neurons))), {}, zero_loss(task))),
        ("naive", lambda: (C.naive(task), {}, naive_loss(task))),
        (
            "naive + offset",
            lambda: (C.naive_offset(task), {"offset": optimal_offset(task)},
                     naive_offset_loss(task, optimal_offset(task))),
        ),
    ]

    def snmf():
        r = C.snmf(task, seed=seed)
        return r.weights, _diag(r, ("objective", "kkt_residual", "n_iter", "converged")), None

    def snmf_reference():
        r = C.snmf(task, seed=seed, recipe="reference")
        return r.weights, _diag(r, ("objective", "kkt_residual", "n_iter")), None

    def moh():
        r = minimize_one_hot(task, seed=seed, max_iter=MOH_MAX_ITER)
        return r.weights, _diag(r, ("objective", "n_iter", "converged")), None

    def exact_objective():
        # no training data: the stratified objective at the task's p (one-hot tasks: its E_1 alone)
        r = minimize_exact(task, seed=seed, evaluate=False, progress=False)
        return r.weights, _diag(r, ("objective", "n_iter", "converged", "init")), None

    out += [
        ("SVD (I + M)", lambda: (C.svd(task), {}, None)),
    ]
    if not np.allclose(task.mixing, task.mixing.T):
        # the reference's SVD baseline computes (I + M)^T x: the same model only for symmetric M
        out.append(("SVD (reference orientation)", lambda: (C.svd(task, reference_orientation=True), {}, None)))
    out += [
        ("SVD + optimal readout", lambda: (C.svd(task, readout="optimal"), {}, None)),
        ("SNMF (exact)", snmf),
        ("SNMF (reference recipe)", snmf_reference),
        ("minimize_one_hot", moh),
        ("exact objective, no data", exact_objective),
    ]
    if train:
        def trained():
            from .training.trainer import train as train_fn

            r = train_fn(task, steps=steps, seed=seed, progress=progress)
            return r.weights, {"final_train_loss": float(np.mean(r.losses[-100:])), "steps": steps}, None

        out.append((f"trained ({steps} steps)", trained, True))
    return [b if len(b) == 3 else (*b, False) for b in out]


def _diag(result, keys) -> dict:
    d = {}
    for k in keys:
        val = getattr(result, k, None)
        if isinstance(val, (np.generic, bool, int, float)):
            d[k] = val.item() if isinstance(val, np.generic) else val
    return d


def _evaluate(weights: Weights, task: Task, exact, n_samples: int, seed: int):
    if exact is not None:
        return float(exact), 0.0, "closed_form"
    if task.one_hot:
        return one_hot_loss(weights, task.mixing), 0.0, "exact"
    # A fixed budget, not a target error: a one-hot-optimal model can have an enormous variance at
    # k >= 3 active features, and reaching a fixed standard error would take hours.
    est = loss_per_feature(weights, task, method="stratified", n_samples=n_samples, seed=seed)
    return est.value, est.stderr, est.method


def compare(task: Task, *, seed: int = 0, steps: int = 10_000, train: bool = True, n_samples: int = 1 << 22,
            progress: bool = True, config: dict | None = None, compile_ahead: bool = True) -> Comparison:
    """Build, train and evaluate every solution on `task`; return a Comparison (rows in build order).

    Progress (stderr, nothing if progress=False), one bar per stage, never two at once: "compiling
    kernels (first run only)" (only when Numba's cache lacks a kernel), "solutions" (every row but the
    trained one), then the trainer's own "train" bar. compile_ahead (default) compiles the missing kernels
    first, those of the last two rows in a second process that runs while the first rows are built
    (docs/benchmarks.md, "Cold start"); False leaves each kernel to compile at its first call.
    """
    t_start = time.perf_counter()
    lb = one_hot_lower_bound(task.mixing, task.n_neurons)
    rows = []
    naive_value = 0.0
    builders = _builders(task, seed, steps, train, progress)
    from . import warmup

    background = _compile_stage(task, train, progress) if compile_ahead else None
    try:
        n_plain = sum(1 for _, _, own_bar in builders if not own_bar)
        # no ETA: rows differ 1000-fold in cost
        bar = progress_bar(progress, n_plain, "solutions", bar_format="{desc}: {n_fmt}/{total_fmt} rows, {elapsed}"
                           "{postfix}")
        for name, build, own_bar in builders:
            needs = _NEEDS.get(name.split(" (")[0]) if background is not None else None
            if own_bar:  # a stage with its own bar (training): the solutions bar ends first
                bar.close()
            else:
                bar.set_description(f"solutions: {name}")
            if needs is not None:  # compiled by the background process: wait until it is in the cache
                background.wait(warmup.COMMANDS[needs], progress, bar=None if own_bar else bar)
            t0 = time.perf_counter()
            weights, diag, exact = build()
            seconds = time.perf_counter() - t0
            value, stderr, method = _evaluate(weights, task, exact, n_samples, seed + 1)
            oh = one_hot_loss(weights, task.mixing)
            if name == "naive":
                naive_value = value
            rows.append(Row(name, value, stderr, method, oh, oh - lb, float("nan"), seconds, weights, diag))
            if not own_bar:
                bar.update(1)
        bar.close()
    finally:
        if background is not None:
            background.close()
    bound = lower_bound(task)
    for r in rows:
        r.gap_at_p = r.value - bound.value
        # naive exact (loss 0, e.g. clean M with n_neurons >= n_features): no ratio to report
        r.relative_to_naive = (r.value / naive_value if naive_value > 0
                               else (1.0 if r.value == 0 else float("nan")))
    cfg = dict(config or {})
    cfg.update({"seed": seed, "steps": steps, "train": train, "n_samples": n_samples})
    return Comparison(task, cfg, lb, rows, time.perf_counter() - t_start,
                      {"name": bound.name, "value": bound.value})


# rows whose kernels the background compile process provides (warmup.COMMANDS keys), in the order it
# compiles them: the constructions' (small, needed a few seconds in), the exact objective's, the trainer's
_NEEDS = {"SVD + optimal readout": "constructions", "SNMF": "constructions", "minimize_one_hot": "constructions",
          "exact objective, no data": "exact", "trained": "train"}


def _compile_stage(task: Task, train: bool, progress: bool):
    """Compile the kernels this run needs that Numba's cache lacks; returns a warmup.Background (the
    kernels of the last rows, compiled by a second process meanwhile) or None.

    On a warm cache this only reads the cache index (well under a second) and shows nothing."""
    from . import warmup
    from .training.trainer import DENSE_P as TRAIN_DENSE_P

    sparse_train = train and (task.one_hot or task.p < TRAIN_DENSE_P)  # the dense trainer path is NumPy
    names = warmup.kernels_for("compare", train=sparse_train, one_hot=task.one_hot)
    todo = [n for n in names if not warmup.is_cached(n)]
    if not todo:
        return None
    # A second process compiles the constructions' kernels, then those of the last two rows (exact
    # objective, then the trainer's) while this one compiles the evaluator's (every row's L/p needs them)
    # and builds the first rows (benchmarks/compile_times.py; warmup.KERNELS holds the costs).
    later = []
    if (os.cpu_count() or 1) > 1:
        later = list(dict.fromkeys(n for group in _NEEDS.values() for n in warmup.COMMANDS[group] if n in todo))
    background = warmup.compile_in_background(later) if later else None
    try:
        warmup.warm([n for n in todo if n not in later], progress=progress)
    except BaseException:
        if background is not None:
            background.close()
        raise
    return background


def write_outputs(result: Comparison, out: str, progress: bool = True, n_curve: int = 25,
                  curve_tol: float = 1e-3) -> list:
    """results.json, weights/<name>.npz, loss_curves.png and bars.png under `out`; returns the paths.

    results.json is written first with "status": "incomplete" and last, with every result, with
    "status": "complete": a directory whose results.json does not say "complete" is from a run that was
    killed or failed (docs/compare.md)."""
    os.makedirs(out, exist_ok=True)
    _write_status(out, "incomplete", result.config)
    from .core.io import remove_stale_tmp

    for sub in (out, os.path.join(out, "weights")):
        remove_stale_tmp(sub)  # left by a killed earlier run
    paths = []
    for row in result.rows:
        fname = os.path.join(out, "weights", _slug(row.name) + ".npz")
        row.weights.save(fname, name=row.name, config=result.config, task=result.task.config())
        paths.append(fname)
    from .apps import plots

    if not result.task.one_hot:  # a one-hot task has no p axis
        fig_path = os.path.join(out, "loss_curves.png")
        plots.plot_loss_curves(_curves(result, n_curve, curve_tol, progress), result.task,
                               lower_bound=result.lower_bound, path=fig_path)
        paths.append(fig_path)
    bars_path = os.path.join(out, "bars.png")
    plots.plot_bars([(r.name, r.value, r.stderr) for r in result.rows], result.task, path=bars_path)
    paths.append(bars_path)
    json_path = os.path.join(out, "results.json")
    atomic_write_json(json_path, {"status": "complete", **result.to_dict()})
    paths.append(json_path)
    return paths


def _write_status(out: str, status: str, config: dict) -> None:
    """results.json holding only the run's status (the marker of a run in progress or killed)."""
    atomic_write_json(os.path.join(out, "results.json"), {
        "status": status, "ccsolve_version": __version__, "config": config,
        "note": "the run writing this directory has not finished (or was killed); results.json is "
                "rewritten with status 'complete' when it does",
    })


def _curves(result: Comparison, n_curve: int, tol: float, progress: bool) -> dict:
    """L/p from p = 1e-3 to 1 for every row: one stratified run per row serves all points."""
    from .evaluation.stratified import loss_curve

    ps = np.logspace(-3, 0, n_curve)
    curves = {}
    for row in result.rows:
        # relative to the row's size: a model 10x worse than naive needs no 1e-3 precision on a plot
        row_tol = tol * max(1.0, 10.0 * row.value)
        c = loss_curve(row.weights, result.task, ps, tol=row_tol, seed=1, progress=progress)
        curves[row.name] = (np.asarray(c.ps), np.asarray(c.values), np.asarray(c.stderrs))
    return curves


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")


def _parser() -> argparse.ArgumentParser:
    ap = OneLineErrorParser(prog="python -m ccsolve.compare", description=__doc__.splitlines()[0])
    ap.add_argument("--mixing", choices=MIXINGS, default="embedding", help="mixing matrix kind")
    ap.add_argument("--sigma", type=float, default=0.025, help="scale of random/symmetric mixing")
    ap.add_argument("--sign", type=int, choices=(1, -1), default=1,
                    help="embedding sign: +1 = W_E W_E^T - I (reference code), -1 = I - W_E W_E^T")
    ap.add_argument("--d-embed", type=int, default=1000, help="embedding width for --mixing embedding")
    ap.add_argument("--p", type=float, default=0.01, help="feature probability in (0, 1]")
    ap.add_argument("--one-hot", action="store_true", help="exactly one active feature (p -> 0 limit)")
    ap.add_argument("--n-features", type=int, default=100)
    ap.add_argument("--n-neurons", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0, help="seeds the mixing matrix, constructions, training")
    ap.add_argument("--steps", type=int, default=10_000, help="training steps")
    ap.add_argument("--no-train", action="store_true", help="skip training")
    ap.add_argument("--n-samples", type=int, default=1 << 22,
                    help="Monte Carlo budget per evaluation (strata with k >= 3 active features)")
    ap.add_argument("--out", default=None, help="directory for results.json, weights and PNG plots")
    ap.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    ap.add_argument("--model", choices=("cc",) + RESIDUAL_MODELS, default="cc",
                    help="cc: the one-layer model (default); resid_mlp1/2/3: Braun et al.'s residual MLPs "
                         "(--n-features, --n-neurons (per layer), --d-embed, --p, --steps override the preset "
                         "when given; --mixing, --sigma, --sign, --one-hot, --out do not apply)")
    ap.add_argument("--max-iter", type=int, default=None,
                    help="L-BFGS iterations of the residual exact-objective rows (default 300)")
    return ap


def _given(ap: argparse.ArgumentParser, argv) -> set:
    """Names of the options given on the command line (not defaulted)."""
    import copy

    quiet = copy.deepcopy(ap)
    for action in quiet._actions:
        action.default = argparse.SUPPRESS
    return set(vars(quiet.parse_args(argv)))


def _main_residual(ap, args, argv) -> int:
    from .apps.residual_compare import MAX_ITER, build_residual_task, compare_residual

    given = _given(ap, argv)
    bad = sorted({"mixing", "sigma", "sign", "one_hot", "out"} & given)
    overrides = {}
    try:
        if bad:
            raise ValueError(f"--{bad[0].replace('_', '-')} does not apply to --model {args.model}")
        steps = v.positive_int("--steps", args.steps) if "steps" in given else None
        n_samples = v.positive_int("--n-samples", args.n_samples, minimum=2) if "n_samples" in given else 1 << 20
        max_iter = v.positive_int("--max-iter", args.max_iter) if args.max_iter is not None else MAX_ITER
        for opt, key in (("n_features", "n_features"), ("n_neurons", "d_mlp"), ("d_embed", "d_embed")):
            if opt in given:
                overrides[key] = v.positive_int("--" + opt.replace("_", "-"), getattr(args, opt))
        if "p" in given:
            overrides["p"] = v.probability("--p", args.p)
        task = build_residual_task(args.model, args.seed, **overrides)
    except (TypeError, ValueError) as exc:
        ap.exit(2, f"{ap.prog}: error: {exc}\n")
    config = {"model": args.model, **overrides}
    progress = not args.quiet and not args.json
    result = compare_residual(task, seed=args.seed, steps=steps, train=not args.no_train, n_samples=n_samples,
                              max_iter=max_iter, progress=progress, config=config)
    if args.json:
        json.dump(result.to_dict(), sys.stdout, indent=2, default=float)
        sys.stdout.write("\n")
    else:
        print(f"ccsolve {__version__} | {task!r} | model={args.model}")
        print(result.table())
        print(f"total {result.seconds:.1f} s")
    return 0


def main(argv=None) -> int:
    ap = _parser()
    args = ap.parse_args(argv)
    if args.model != "cc":
        return _main_residual(ap, args, argv)
    if args.max_iter is not None:
        ap.exit(2, f"{ap.prog}: error: --max-iter applies to the residual models (--model resid_mlp1/2/3) only\n")
    config = {k: v_ for k, v_ in vars(args).items() if k not in ("out", "json", "quiet", "model", "max_iter")}
    try:
        v.positive_int("--steps", args.steps)
        v.sample_count("--n-samples", args.n_samples, minimum=2)
        v.positive_int("--seed", args.seed, minimum=0)
        task = build_task(args.mixing, args.sigma, args.sign, args.d_embed, args.p, args.one_hot,
                          args.n_features, args.n_neurons, args.seed)
        if args.out is not None:  # before any work: exit 2 now, not after the computation
            v.output_dir("--out", args.out)
            _write_status(args.out, "incomplete", config)
    except (TypeError, ValueError) as exc:
        ap.exit(2, f"{ap.prog}: error: {exc}\n")
    progress = not args.quiet and not args.json
    result = compare(task, seed=args.seed, steps=args.steps, train=not args.no_train,
                     n_samples=args.n_samples, progress=progress, config=config)
    if args.out is not None:
        write_outputs(result, args.out, progress=progress)
    if args.json:
        json.dump(result.to_dict(), sys.stdout, indent=2, default=float)
        sys.stdout.write("\n")
    else:
        print(f"ccsolve {__version__} | {task!r} | mixing={args.mixing}"
              + (f" sigma={args.sigma:g}" if args.mixing in ("random", "symmetric") else "")
              + (f" sign={args.sign:+d}" if args.mixing == "embedding" else ""))
        print(result.table())
        print(f"total {result.seconds:.1f} s" + (f"; outputs in {args.out}" if args.out else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
