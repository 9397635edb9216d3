"""Why minimize_exact stalled above training at p = 0.001 and what the basin hops change (issue 13).

Embedding M (ccsolve.mixing.embedding(100, 1000, seed=0)), 50 neurons, p = 0.001:
  1. the default call without hops (minimize_exact(task, hops=0)) and with the default hops, and the
     trained seeds of --trained-cache (trained_embedding_p0.001_seed{s}.npz, e.g. from
     `bench_minimize_exact.py --table --train-missing`): F on an independent tail sample (2^17, seed
     12345), E_1 (one-hot loss), interference I = E_2 - 2 E_1, features per neuron and the W_in row PR
     (ccsolve.analysis.mechanism), and the share of |dF*/dW_in| on entries with |w| < 1% of the row max
     (the kink of E_1 at W_in = 0: where a stalled L-BFGS run sits);
  2. --scales: 4 hops at each hop_scale from the no-hop solution (minimize_exact(init=it, maxiter=0,
     hops=4, hop_scale=s)): F after each hop.
No timings (run it on a loaded machine if needed).
Run: python benchmarks/p0001_basins.py --trained-cache /tmp/smallp2-runs/table [--scales 0.1,0.3,0.6]
     [--nohop-weights A.npz --hop-weights B.npz]  (Weights.save of those two calls, to skip recomputing them)
"""

from __future__ import annotations

import argparse
import os

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trained-cache", default=None)
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--scales", default="0.1,0.3,0.6")
    ap.add_argument("--nohop-weights", default=None, help="saved weights of minimize_exact(task, hops=0) (else computed)")
    ap.add_argument("--hop-weights", default=None, help="saved weights of minimize_exact(task) (else computed)")
    args = ap.parse_args()

    import ccsolve
    from ccsolve.analysis import mechanism as mech
    from ccsolve.constructions import minimize_exact
    from ccsolve.optimize._fast import ProjectedEvaluator
    from ccsolve.optimize.exact import ExactObjective

    m = ccsolve.mixing.embedding(100, 1000, seed=0)
    task = ccsolve.Task(m, 50, 0.001)
    ind = ExactObjective(task, n_tail_samples=1 << 17, seed=12345)
    ev = ProjectedEvaluator(ExactObjective(task, seed=0))
    models = {}
    load = ccsolve.Weights.load
    nohop = load(args.nohop_weights) if args.nohop_weights else minimize_exact(task, hops=0, evaluate=False).weights
    models["default, hops=0"] = nohop
    models["default (hops)"] = load(args.hop_weights) if args.hop_weights else minimize_exact(task, evaluate=False).weights
    if args.trained_cache:
        for s in args.seeds.split(","):
            f = os.path.join(args.trained_cache, f"trained_embedding_p0.001_seed{s}.npz")
            if os.path.exists(f):
                models[f"trained seed {s}"] = ccsolve.Weights.load(f)
    print("| model | F (indep.) | E_1 | I = E_2 - 2E_1 | features/neuron | PR W_in rows | kink share of grad |")
    print("|---|---|---|---|---|---|---|")
    for name, w in models.items():
        t = ind.terms(w)
        split = mech.neuron_split(w)
        part = mech.participation(w)
        w_in = w.W_in / np.linalg.norm(w.W_in, axis=1, keepdims=True)
        _, g, _ = ev(w_in)
        small = np.abs(w_in) < 0.01 * np.abs(w_in).max(axis=1, keepdims=True)
        share = float(np.linalg.norm(g[small]) / np.linalg.norm(g))
        print(f"| {name} | {ind.value(w):.6f} | {t['E_1']:.6f} | {t['E_2'] - 2 * t['E_1']:.5f} | "
              f"{split['features_per_neuron']:.2f} | {part['pr_in_rows']:.1f} | {share:.2f} |", flush=True)
    print("\nhops from the no-hop solution (F on the run's own tail sample after each hop):")
    for s in [float(x) for x in args.scales.split(",")]:
        r = minimize_exact(task, init=nohop, maxiter=0, hops=4, hop_scale=s, evaluate=False)
        print(f"hop_scale {s}: start {r.details['hops'][0]['start_objective']:.6f} -> "
              + " ".join(f"{h['objective']:.6f}{'' if h['kept'] else '(x)'}" for h in r.details["hops"]), flush=True)


if __name__ == "__main__":
    main()
