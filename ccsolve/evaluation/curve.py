"""loss_curve(method="auto"): L/p over many p, each point by the cheapest route to its error target.

Points with p <= AUTO_CURVE_STRAT_P share one stratified run (ccsolve.evaluation.stratified: E_1, E_2
exact, the strata k >= 3 sampled once for all of them; at the smallest p no stratum needs sampling and the
point is exact). The others come from the exact second moments (ccsolve.evaluation.moments, no sampling),
walked in increasing p in groups of neighbours evaluated on one lattice (moments._loss_group: the factors
shared by every p of a group computed once), each group's 1-D truncation search starting from the previous
group's; a point whose 2-D sums would exceed AUTO_CURVE_MAX_EVALS joins the stratified run instead. Measured crossover:
docs/benchmarks.md ("The 100-point curve").

Layer 2 (an evaluator).
"""

from __future__ import annotations

import time

import numpy as np

from ..core.progress import progress_bar
from ..core.task import Task
from ..core.weights import Weights

# the stratified run takes the points up to this p (the 100-point curve of trained weights at tol 1e-6,
# benchmarks/bench_moments.py --ps --curve --curve-strat-max-p 0.01 / 0.02 / 0.03, with the grouped moments,
# 2026-12-03 18:19 UTC: 7.66 / 7.47 / 9.82 s in all; before grouping, 0.02 / 0.035 / 0.05 at 13:43 UTC:
# 15.8 / 16.7 / 23.9 s; its 43 points up to 0.02 cost ~1.2-1.5 s together)
AUTO_CURVE_STRAT_P = 0.02
AUTO_CURVE_MAX_EVALS = 3e10  # a moments point above this 2-D box cost goes to the stratified run
# the moments points are evaluated in groups on one lattice (moments._loss_group): consecutive p (same low
# strata) up to AUTO_CURVE_GROUP_RATIO x the group's first, at most AUTO_CURVE_GROUP_MAX points
AUTO_CURVE_GROUP_RATIO = 3.0
AUTO_CURVE_GROUP_MAX = 16


def _groups(ps: np.ndarray, dense: list, n: int, tol: float) -> list:
    """The dense points (indices, sorted by p) cut into groups for moments._loss_group."""
    from .moments import _kmin

    groups = []
    for i in dense:
        g = groups[-1] if groups else None
        if (g and ps[i] <= AUTO_CURVE_GROUP_RATIO * ps[g[0]] and len(g) < AUTO_CURVE_GROUP_MAX
                and _kmin(float(ps[i]), n, tol, "auto") == _kmin(float(ps[g[0]]), n, tol, "auto")):
            g.append(i)
        else:
            groups.append([i])
    return groups


def auto_curve(weights: Weights, task: Task, ps: np.ndarray, tol: float, seed, progress: bool):
    """(values, errors, stat_stderrs, truncation_bounds, strata or None, n_samples, methods, point_seconds);
    inputs validated by loss_curve."""
    from .moments import K1_START, CostCapExceeded, _curve_point, _loss_group
    from .stratified import TRUNC_FRACTION, _run

    n_pts = ps.size
    values = np.full(n_pts, np.nan)
    errors = np.full(n_pts, np.nan)
    stat = np.zeros(n_pts)
    trunc = np.zeros(n_pts)
    secs = np.zeros(n_pts)
    methods = [""] * n_pts
    strat = [i for i in range(n_pts) if ps[i] <= AUTO_CURVE_STRAT_P]
    dense = sorted((i for i in range(n_pts) if ps[i] > AUTO_CURVE_STRAT_P), key=lambda i: ps[i])
    k1 = K1_START
    with progress_bar(progress and bool(dense), len(dense), "loss curve (moments)", unit="pt") as bar:
        for group in _groups(ps, dense, task.n_features, tol):
            t0 = time.perf_counter()
            try:
                rs = _loss_group(weights, task.mixing, [float(ps[i]) for i in group], tol, AUTO_CURVE_MAX_EVALS,
                                 max(K1_START, k1 // 2))
                failed = 0.0
            except CostCapExceeded:  # the points one by one: those under the cap by the moments
                failed = (time.perf_counter() - t0) / len(group)  # the refused group call, shared
                rs = []
                for i in group:
                    t1 = time.perf_counter()
                    try:
                        r = _curve_point(weights, Task(task.mixing, task.n_neurons, float(ps[i])), tol,
                                         AUTO_CURVE_MAX_EVALS, max(K1_START, k1 // 2))
                    except CostCapExceeded:
                        rs.append(None)
                        secs[i] = failed + time.perf_counter() - t1  # plus its share of the stratified run
                        continue
                    rs.append(r)
                    k1 = r.details["k1"]
            for i, r in zip(group, rs):
                if r is None:
                    strat.append(i)
                    continue
                values[i], errors[i], trunc[i], methods[i] = r.value, r.error, r.error, "moments"
                k1 = r.details["k1"]
                secs[i] = r.seconds + failed
            bar.update(len(group))
    strata, n_samples = None, 0
    if strat:
        t0 = time.perf_counter()
        strata = _run(weights, task.mixing, ps[strat], tol, None, seed, TRUNC_FRACTION * tol, progress,
                      "loss curve")
        n_samples = int(strata.pilot_samples + strata.n_samples.sum())
        for i in strat:
            values[i], stat[i], trunc[i] = strata.loss(float(ps[i]))
            errors[i] = float(np.hypot(stat[i], trunc[i]))
            # no sampled stratum weighs on this point: the exact strata within their truncation bound
            methods[i] = "stratified" if stat[i] > 0 else "exact"
        secs[strat] += (time.perf_counter() - t0) / len(strat)
    return values, errors, stat, trunc, strata, n_samples, tuple(methods), secs
