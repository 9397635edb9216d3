"""Is moments_loss's error estimate an upper bound of its actual error? (issue 16)

Per weight set (trained at p = 0.3, 0.05, 1 and random; check_moments_cut.weight_sets), p and tol:
moments_loss(tol) against a reference moments_loss(tol=--ref-tol), printing the actual error, the estimate,
their ratio and the estimate's parts (truncation refinement, cross cut, alias bound). A ratio above 1 is an
estimate that did not cover the error. --grouped: the points of --ps evaluated as loss_curve(method="auto")
evaluates its moments points (cut into groups by curve._groups, each group on one lattice by
moments._loss_group; here also at p <= 0.02, which loss_curve gives to the stratified run), each against its
own single-point reference.

    PYTHONPATH=. python benchmarks/check_moments_error.py [--ps 0.02 0.05 0.1 0.2 0.5 1] [--tols 1e-6 1e-5]
    PYTHONPATH=. python benchmarks/check_moments_error.py --grouped --ps 0.02 0.03 0.045 0.06 0.1 0.15 0.25 0.5
"""

import argparse

import numpy as np
from check_moments_cut import weight_sets

import ccsolve as cc
from ccsolve.evaluation.moments import moments_loss


def grouped(w, m, ps, tol):
    """{p: MomentsLoss} as loss_curve(method="auto") evaluates its moments points."""
    from ccsolve.evaluation.curve import _groups
    from ccsolve.evaluation.moments import K1_START, _loss_group

    ps = np.sort(np.asarray(ps, dtype=float))
    out = {}
    for g in _groups(ps, list(range(ps.size)), 100, tol):
        for i, r in zip(g, _loss_group(w, m, [float(ps[i]) for i in g], tol, None, K1_START)):
            out[float(ps[i])] = r
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ps", type=float, nargs="+", default=[0.02, 0.05, 0.1, 0.2, 0.5, 1.0])
    ap.add_argument("--tols", type=float, nargs="+", default=[1e-6, 1e-5])
    ap.add_argument("--ref-tol", type=float, default=1e-8)
    ap.add_argument("--train-ps", type=float, nargs="+", default=[0.3, 0.05, 1.0])
    ap.add_argument("--cache", default="/tmp/bench_moments_weights")
    ap.add_argument("--grouped", action="store_true", help="the curve's grouped evaluation (moments._loss_group)")
    a = ap.parse_args()
    m = cc.mixing.embedding(100, seed=0)
    worst = 0.0
    for name, (w_in, w_out) in weight_sets(m, a.train_ps, a.cache).items():
        w = cc.Weights(w_in, w_out)
        refs = {p: moments_loss(w, cc.Task(m, 50, p), tol=a.ref_tol) for p in a.ps}
        for tol in a.tols:
            results = grouped(w, m, a.ps, tol) if a.grouped else {
                p: moments_loss(w, cc.Task(m, 50, p), tol=tol) for p in a.ps}
            for p in a.ps:
                ref, r = refs[p], results[p]
                actual = abs(r.value - ref.value)
                worst = max(worst, actual / r.error)
                parts = " ".join(f"{k} {v:.1e}" for k, v in r.details.get("error_parts", {}).items())
                print(f"{name:16s} p={p:<5g} tol {tol:.0e}: actual {actual:.2e} (reference's estimate "
                      f"{ref.error:.1e}), estimate {r.error:.2e}, ratio {actual / r.error:.3f} | {parts} | "
                      f"{r.seconds:.2f}s, {r.details.get('attempts', '?')} pass(es), group of "
                      f"{r.details.get('group_size', 1)}", flush=True)
    print(f"largest actual / estimate: {worst:.3f}")


if __name__ == "__main__":
    main()
