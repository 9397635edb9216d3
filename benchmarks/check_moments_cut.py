"""What the 2-D cross cut of moments_loss leaves out, against the full box (issue 16).

moments_loss's 2-D sums run over a cross-shaped region (two_dim_fast, threshold entry_tol * CROSS_THR[_LOW])
and extrapolate what the cut leaves out from the nested region at CUT_RATIO times the threshold:
omitted ~ CUT_EXTRAP * D, D = sum - coarser sum (Richardson in the threshold), with the uncertainty
CUT_ERR * |sum over pairs of G_ab D_ab| in the loss error. This script measures the constant: per weight set,
p and entry tolerance it runs the 2-D sums with the cut and on the full box (same truncations), and prints
the ratio omitted / D on the loss, (L_box - L_cut) / (sum_ab 2 G_ab D_ab / (n p)), which CUT_EXTRAP +- CUT_ERR
must cover. Weights: ccsolve.train(Task(embedding(100, seed=0), 50, p_train), steps=2000, seed=0) for p_train
in --train-ps (cached in --cache), and random N(0, 0.15^2) weights (seed 3).

    PYTHONPATH=. python benchmarks/check_moments_cut.py [--ps 0.02 0.05 0.1 0.2] [--entry-tols 1e-8 1e-7]
"""

import argparse
import os

import numpy as np

import ccsolve as cc
import ccsolve.evaluation.moments as mm


def weight_sets(m, train_ps, cache):
    os.makedirs(cache, exist_ok=True)
    out = {}
    for pt in train_ps:
        path = f"{cache}/p{pt}_s2000.npz"
        if not os.path.exists(path):
            w = cc.train(cc.Task(m, 50, pt), steps=2000, seed=0, progress=False).weights
            np.savez(path, W_in=w.W_in, W_out=w.W_out)
        z = np.load(path)
        out[f"trained p={pt}"] = (z["W_in"], z["W_out"])
    rng = np.random.default_rng(3)
    out["random"] = (rng.normal(size=(50, 100)) * 0.15, rng.normal(size=(100, 50)) * 0.15)
    return out


def cut_ratio(w_in, w_out, p, entry_tol):
    """(L_box - L_cut, the loss's D) at one entry tolerance, the extrapolation switched off."""
    kmin = 3 if p < 0.2 else 2
    g = w_out.T @ w_out
    iu = np.triu_indices(w_in.shape[0], 1)
    norm = w_in.shape[1] * p
    saved = mm.CUT_EXTRAP, mm.CROSS_THR, mm.CROSS_THR_LOW
    try:
        mm.CUT_EXTRAP = 0.0
        cut = mm._restricted(w_in, p, entry_tol, kmin, 4096, 400, None)
        d = 2 * np.sum(g[iu] * cut[-1]["cut_pairs"]) / mm.CUT_ERR / norm
        mm.CROSS_THR = mm.CROSS_THR_LOW = 0.0
        box = mm._restricted(w_in, p, entry_tol, kmin, 4096, 400, None)
    finally:
        mm.CUT_EXTRAP, mm.CROSS_THR, mm.CROSS_THR_LOW = saved
    return float(np.sum(g * (box[0] - cut[0])) / norm), float(d)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ps", type=float, nargs="+", default=[0.02, 0.05, 0.1, 0.2])
    ap.add_argument("--entry-tols", type=float, nargs="+", default=[1e-8, 1e-7])
    ap.add_argument("--train-ps", type=float, nargs="+", default=[0.3, 0.05, 1.0])
    ap.add_argument("--cache", default="/tmp/bench_moments_weights")
    a = ap.parse_args()
    m = cc.mixing.embedding(100, seed=0)
    lo, hi = mm.CUT_EXTRAP - mm.CUT_ERR, mm.CUT_EXTRAP + mm.CUT_ERR
    print(f"CUT_EXTRAP {mm.CUT_EXTRAP} +- CUT_ERR {mm.CUT_ERR}: ratios in [{lo:.2f}, {hi:.2f}] are covered")
    ratios = []
    for name, (w_in, w_out) in weight_sets(m, a.train_ps, a.cache).items():
        for p in a.ps:
            for et in a.entry_tols:
                omitted, d = cut_ratio(w_in, w_out, p, et)
                r = omitted / d if d != 0 else float("nan")
                ratios.append(r)
                print(f"{name:16s} p={p:<5g} entry tol {et:.0e}: omitted {omitted:+.3e}, D {d:+.3e}, ratio {r:.3f}"
                      f"{'' if lo <= r <= hi else '  NOT COVERED'}", flush=True)
    print(f"ratios {min(ratios):.3f} .. {max(ratios):.3f}; not covered: {sum(not lo <= r <= hi for r in ratios)}")


if __name__ == "__main__":
    main()
