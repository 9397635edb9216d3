"""The comparison table for Braun et al.'s residual MLPs: `python -m ccsolve.compare --model resid_mlp2`.

Rows: naive (ccsolve.residual.constructions.naive), the exact-objective constructions (minimize_exact on
the stratified objective at the task's p, and on the one-hot closed form; both from naive) and a trained
model (ccsolve.residual.train, the preset's steps unless overridden). Every row: L/p at the task's p by
the stratified estimator (one-active stratum exact, Monte Carlo on >= 2 active, with its standard error)
and the exact one-hot L/p.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass, field

from .. import __version__
from ..core.progress import progress_bar
from ..core.results import Result

__all__ = ["ResidualComparison", "ResidualRow", "build_residual_task", "compare_residual"]

MAX_ITER = 300  # L-BFGS iterations of the construction rows (docs/residual.md: their L/p against this)


@dataclass(repr=False)
class ResidualRow(Result):
    name: str
    value: float
    stderr: float
    method: str
    one_hot: float
    relative_to_naive: float
    seconds: float
    weights: object = field(default=None, repr=False)
    diagnostics: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"name": self.name, "loss_per_feature": self.value, "stderr": self.stderr, "method": self.method,
                "one_hot_loss": self.one_hot, "relative_to_naive": self.relative_to_naive,
                "seconds_to_build": self.seconds, "diagnostics": self.diagnostics}


@dataclass(repr=False)
class ResidualComparison(Result):
    task: object
    config: dict
    rows: list
    seconds: float

    def to_dict(self) -> dict:
        return {"ccsolve_version": __version__, "config": self.config, "task": self.task.config(),
                "rows": [r.to_dict() for r in self.rows], "seconds": self.seconds,
                "machine": {"python": platform.python_version(), "platform": platform.platform(),
                            "cpus": os.cpu_count()}}

    def table(self) -> str:
        at = f"p = {self.task.p:g}"
        lines = [f"| solution | L/p at {at} ± SE | one-hot L/p | relative to naive | build s |",
                 "|---|---|---|---|---|"]
        for r in self.rows:
            lines.append(f"| {r.name} | {r.value:.5f} ± {r.stderr:.1e} | {r.one_hot:.5f} | "
                         f"{r.relative_to_naive:.3f} | {r.seconds:.2f} |")
        return "\n".join(lines)


def build_residual_task(model: str, seed: int = 0, **overrides):
    """The preset `model` (resid_mlp1/2/3) with optional overrides (n_features, d_embed, d_mlp, p)."""
    from ..residual import ResidualTask

    return ResidualTask.from_preset(model, seed=seed, **overrides)


def compare_residual(task, *, seed: int = 0, steps: int | None = None, train: bool = True,
                     n_samples: int = 1 << 20, max_iter: int = MAX_ITER, progress: bool = True,
                     config: dict | None = None) -> ResidualComparison:
    """Build, train and evaluate the residual rows on `task` (module doc)."""
    from .. import residual as R
    from ..residual import constructions as RC

    t_start = time.perf_counter()
    if steps is None:
        steps = R.PRESETS[task.name]["steps"] if task.name else 1_000

    def exact(kind):
        def build():
            r = RC.minimize_exact(task, kind, init="naive", seed=seed, max_iter=max_iter)
            return r.weights, {"objective": r.objective, "initial_objective": r.initial_objective,
                               "n_iter": r.n_iter, "converged": r.converged, "n_tail_samples": r.n_tail_samples}
        return build

    def trained():
        r = R.train(task, steps=steps, seed=seed, progress=progress)
        return r.weights, {"final_train_loss": r.final_loss, "steps": steps}

    builders = [("naive", lambda: (RC.naive(task), {})),
                ("minimize_exact (stratified)", exact("stratified")),
                ("minimize_exact (one-hot)", exact("one_hot"))]
    if train:
        builders.append((f"trained ({steps} steps)", trained))
    rows = []
    naive_value = None
    bar = progress_bar(progress, len(builders), "solutions")
    for name, build in builders:
        bar.set_description(f"solutions: {name}")
        t0 = time.perf_counter()
        weights, diag = build()
        seconds = time.perf_counter() - t0
        est = R.loss_per_feature(weights, task, method="stratified", n_samples=n_samples, seed=seed + 1)
        oh = R.one_hot_loss(weights, task)
        if naive_value is None:
            naive_value = est.value
        rows.append(ResidualRow(name, est.value, est.stderr, est.method, oh, est.value / naive_value, seconds,
                                weights, diag))
        bar.update(1)
    bar.close()
    cfg = dict(config or {})
    cfg.update({"seed": seed, "steps": steps, "train": train, "n_samples": n_samples, "max_iter": max_iter})
    return ResidualComparison(task, cfg, rows, time.perf_counter() - t_start)
