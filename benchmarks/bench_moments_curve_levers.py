"""Levers for moments_loss in the small-p part of the 100-point curve (issue 16): module constants of
ccsolve.evaluation.moments changed one at a time ("previous": the settings before CROSS_THR_LOW and
ENTRY_TOL_P; the reference moments_loss(tol=--ref-tol) always at the previous settings), on the curve's p = 0.3 weights (bench_moments.weights_at,
2000 steps) at a few curve points. Per setting and p: wall time of one moments_loss(tol=--tol) call, its
error estimate, its actual error against the reference (untimed), whether it needed a retry (entry tol below the first one) and the 2-D factor evaluations.

    PYTHONPATH=. flock /tmp/timing.lock python benchmarks/bench_moments_curve_levers.py [--ps 0.012 0.02 0.03 0.05 0.1]
"""

import argparse
import os
import sys
import time

import numpy as np

import ccsolve as cc
from ccsolve.evaluation import moments as mm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_moments import weights_at

PREVIOUS = {"CROSS_THR_LOW": 1e-3, "ENTRY_TOL_P": 0.0}  # before the small-p levers (CROSS_THR_LOW = CROSS_THR)
SETTINGS = {
    "default": {},
    "previous": PREVIOUS,
    "previous + CROSS_THR_LOW 3e-3": {**PREVIOUS, "CROSS_THR_LOW": 3e-3},
    "previous + CROSS_THR_LOW 1e-2": {**PREVIOUS, "CROSS_THR_LOW": 1e-2},
    "previous + CROSS_THR_LOW 3e-4": {**PREVIOUS, "CROSS_THR_LOW": 3e-4},
    "previous + ENTRY_TOL_LOW 1.0": {**PREVIOUS, "ENTRY_TOL_LOW": 1.0},
    "previous + ENTRY_TOL_LOW 0.35": {**PREVIOUS, "ENTRY_TOL_LOW": 0.35},
    "previous + K1_START 256": {**PREVIOUS, "K1_START": 256},
    "previous + ENTRY_TOL_P 0.1": {**PREVIOUS, "ENTRY_TOL_P": 0.1},
    "previous + ENTRY_TOL_P 0.1, exp 1": {**PREVIOUS, "ENTRY_TOL_P": 0.1, "ENTRY_TOL_EXP": 1.0},
    "CROSS_THR_LOW 1e-2": {"CROSS_THR_LOW": 1e-2},
    "ENTRY_TOL_EXP 1.0": {"ENTRY_TOL_EXP": 1.0},
    "ENTRY_TOL_EXP 1.25": {"ENTRY_TOL_EXP": 1.25},
    "ENTRY_TOL_LOW 0.7": {"ENTRY_TOL_LOW": 0.7},
    "K1_START 256": {"K1_START": 256},
    "ONE_DIM_FRAC 0.3": {"ONE_DIM_FRAC": 0.3},
    "ONE_DIM_FRAC 0.03": {"ONE_DIM_FRAC": 0.03},
    "ETA_FRAC 0.3": {"ETA_FRAC": 0.3},
    "ETA_FRAC 0.03": {"ETA_FRAC": 0.03},
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ps", type=float, nargs="+", default=[0.012, 0.02, 0.03, 0.05, 0.1])
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--ref-tol", type=float, default=1e-8)
    ap.add_argument("--settings", nargs="*", default=list(SETTINGS))
    ap.add_argument("--cache", default="/tmp/bench_moments_weights")
    a = ap.parse_args()
    os.makedirs(a.cache, exist_ok=True)
    m = cc.mixing.embedding(100, seed=0)
    w = weights_at(0.3, m, 2000, a.cache)
    w0 = cc.Weights(np.random.default_rng(0).normal(size=(3, 6)) * 0.5, np.zeros((6, 3)))
    for low in ("moments", "exact"):  # JIT warm-up
        mm.moments_loss(w0, cc.Task(np.zeros((6, 6)), 3, 0.5), low_strata=low)
    refs = {}
    saved = {k: getattr(mm, k) for k in PREVIOUS}
    for k, val in PREVIOUS.items():  # the reference at the previous (tighter cross region) settings
        setattr(mm, k, val)
    for p in a.ps:
        refs[p] = mm.moments_loss(w, cc.Task(m, 50, p), tol=a.ref_tol)
    for k, val in saved.items():
        setattr(mm, k, val)
    print(f"load average before: {os.getloadavg()}")
    print("| setting | p | s | error est. | actual error | retry | 2-D evaluated | k1 |")
    print("|---|---|---|---|---|---|---|---|")
    default = {k: getattr(mm, k) for s in SETTINGS.values() for k in s}
    print("defaults: " + ", ".join(f"{k} = {v}" for k, v in default.items()))
    total = {}
    for name in a.settings:
        for k, val in default.items():
            setattr(mm, k, val)
        for k, val in SETTINGS[name].items():
            setattr(mm, k, val)
        for p in a.ps:
            t = time.perf_counter()
            r = mm.moments_loss(w, cc.Task(m, 50, p), tol=a.tol)
            secs = time.perf_counter() - t
            total[name] = total.get(name, 0.0) + secs
            first = a.tol * (mm.ENTRY_TOL_LOW if r.details["low_strata"] == "exact" else 1.0)
            if r.details["low_strata"] == "exact" and p < mm.ENTRY_TOL_P:
                first *= (p / mm.ENTRY_TOL_P) ** mm.ENTRY_TOL_EXP
            retry = "yes" if r.details["entry_tol"] < first * 0.999 else "no"
            print(f"| {name} | {p} | {secs:.2f} | {r.error:.1e} | {abs(r.value - refs[p].value):.1e} | {retry} | "
                  f"{r.details['factor_evals_2d']:.2g} | {r.details['k1']} |", flush=True)
    for k, val in default.items():
        setattr(mm, k, val)
    print("totals: " + ", ".join(f"{k} {v:.2f} s" for k, v in total.items()))
    print("reference error estimates: " + ", ".join(f"{p}: {r.error:.1e}" for p, r in refs.items()))
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
