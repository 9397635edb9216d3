"""Is moments_loss's error estimate an upper bound of its actual error? (issue 16)

Per weight set (trained at p = 0.3, 0.05, 1 and random; check_moments_cut.weight_sets), p and tol:
moments_loss(tol) against a reference moments_loss(tol=--ref-tol), printing the actual error, the estimate,
their ratio and the estimate's parts (truncation refinement, cross cut, alias bound). A ratio above 1 is an
estimate that did not cover the error.

    PYTHONPATH=. python benchmarks/check_moments_error.py [--ps 0.02 0.05 0.1 0.2 0.5 1] [--tols 1e-6 1e-5]
"""

import argparse


import ccsolve as cc
from ccsolve.evaluation.moments import moments_loss

from check_moments_cut import weight_sets


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ps", type=float, nargs="+", default=[0.02, 0.05, 0.1, 0.2, 0.5, 1.0])
    ap.add_argument("--tols", type=float, nargs="+", default=[1e-6, 1e-5])
    ap.add_argument("--ref-tol", type=float, default=1e-8)
    ap.add_argument("--train-ps", type=float, nargs="+", default=[0.3, 0.05, 1.0])
    ap.add_argument("--cache", default="/tmp/bench_moments_weights")
    a = ap.parse_args()
    m = cc.mixing.embedding(100, seed=0)
    worst = 0.0
    for name, (w_in, w_out) in weight_sets(m, a.train_ps, a.cache).items():
        w = cc.Weights(w_in, w_out)
        for p in a.ps:
            task = cc.Task(m, 50, p)
            ref = moments_loss(w, task, tol=a.ref_tol)
            for tol in a.tols:
                r = moments_loss(w, task, tol=tol)
                actual = abs(r.value - ref.value)
                worst = max(worst, actual / r.error)
                parts = " ".join(f"{k} {v:.1e}" for k, v in r.details.get("error_parts", {}).items())
                print(f"{name:16s} p={p:<5g} tol {tol:.0e}: actual {actual:.2e} (reference's estimate "
                      f"{ref.error:.1e}), estimate {r.error:.2e}, ratio {actual / r.error:.3f} | {parts} | "
                      f"{r.seconds:.2f}s, {r.details.get('attempts', '?')} pass(es)", flush=True)
    print(f"largest actual / estimate: {worst:.3f}")


if __name__ == "__main__":
    main()
