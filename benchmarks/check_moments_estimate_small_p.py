"""Actual error / refinement estimate of moments_loss at small p on the tiny model of
tests/test_moments_small_p.py (n = 4, d = 3, seed 31), with the Chernoff-shortened period (the default) and
the full one (TAIL_PERIOD = False). Reference: moments_loss(tol=1e-11, low_strata="exact"), which that test
checks against brute force to 1e-10 (measured 6e-12..1.1e-11). Untimed.

    PYTHONPATH=. python benchmarks/check_moments_estimate_small_p.py
"""

import numpy as np

import ccsolve as cc
import ccsolve.evaluation.moments as mm


def main():
    rng = np.random.default_rng(31)
    n, d = 4, 3
    w_in = rng.normal(size=(d, n)) * 0.6
    w_in[0] = np.abs(w_in[0])
    w_in[1] = -np.abs(w_in[1])
    w = cc.Weights(w_in, rng.normal(size=(n, d)) * 0.5)
    m = rng.normal(size=(n, n)) * 0.1
    worst = {}
    print("| period | route | p | tol | actual error | estimate | ratio |")
    print("|---|---|---|---|---|---|---|")
    for p in (0.01, 0.02, 0.05):
        task = cc.Task(m, d, p)
        ref = mm.moments_loss(w, task, tol=1e-11, low_strata="exact").value
        for tail in (True, False):
            mm.TAIL_PERIOD = tail
            for low in ("exact", "moments"):
                for tol in (1e-6, 1e-5, 1e-4):
                    r = mm.moments_loss(w, task, tol=tol, low_strata=low)
                    act = abs(r.value - ref)
                    key = ("short" if tail else "full", low)
                    old = worst.get(key, (0.0, 0.0))
                    worst[key] = (max(old[0], act / r.error), max(old[1], act))
                    print(f"| {key[0]} | {low} | {p} | {tol:g} | {act:.2e} | {r.error:.2e} | {act / r.error:.2f} |")
            mm.TAIL_PERIOD = True
    for key, (ratio, act) in worst.items():
        print(f"{key}: largest actual / estimate {ratio:.2f}; largest actual error {act:.1e}")


if __name__ == "__main__":
    main()
