"""Print the docs/mechanism.md parametric tables: ccsolve.optimize.parametric against the mean trained L/p.

    python benchmarks/parametric_tables.py [--cache DIR] [--seeds 0,1,2,3,4] [--tol 1e-5] [--only-trained]

Rows: the embedding M (seed 0), random σ = 0.025 and symmetric σ = 0.033 at p = 0.01 and 0.001, the
embedding M also at p = 0.003 and 0.03, and the one-hot limit (exact one-hot loss; the trained one-hot
reference is the p = 0.001 model's exact one-hot loss). Trained: ccsolve.train defaults (10,000 steps; at
p < 0.005 10,000 non-empty batches), cached as .npz in DIR (benchmarks/mechanism_common.py). Every L/p:
ccsolve.loss_per_feature(method="auto", tol=--tol), cached as JSON in DIR (so a rerun only prints); the
trained cell is the mean over seeds ± the standard error of that mean from the estimators' errors.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

from mechanism_common import DEFAULT_CACHE, cached, task, trained

import ccsolve as cc
from ccsolve.optimize.parametric import parametric, parametric_weights

POINTS = [("embedding", 0.01), ("random", 0.01), ("symmetric", 0.01), ("embedding", 0.001),
          ("embedding", 0.003), ("embedding", 0.03), ("random", 0.001), ("symmetric", 0.001)]
ONE_HOT = ["embedding", "random", "symmetric"]


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)



def lp(weights, t, tol):
    t0 = time.time()
    e = cc.loss_per_feature(weights, t, method="auto", tol=tol)
    return {"value": float(e.value), "stderr": float(e.stderr), "seconds": time.time() - t0}


def trained_lp(kind, p, seeds, cache, tol):
    t = task(kind, p)
    out = []
    for s in seeds:
        w = trained(kind, p, s, cache)
        out.append(cached(os.path.join(cache, f"lp{tol:g}_trained_{kind}_{p:g}_{s}.json"), lambda w=w: lp(w, t, tol)))
        log(f"trained {kind} p={p:g} seed {s}: {out[-1]['value']:.6f} ± {out[-1]['stderr']:.1e}")
    return out


def parametric_fit(kind, p, cache, max_evals):
    """parametric(task) fitted at p (None: one-hot), cached as JSON; returns (weights, result dict)."""
    t = task(kind, 0.01, one_hot=True) if p is None else task(kind, p)
    tag = "one-hot" if p is None else f"{p:g}"

    def fit():
        t0 = time.time()
        r = parametric(t, max_evals=max_evals)
        log(f"parametric {kind} {tag}: {r!r}, {r.n_evals} evals, {time.time() - t0:.0f} s")
        return r.to_dict()

    d = cached(os.path.join(cache, f"parametric2_{kind}_{tag}_{max_evals}.json"), fit)
    return parametric_weights(t, d["parameters"]), d


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cache", default=DEFAULT_CACHE)
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--tol", type=float, default=1e-5)
    ap.add_argument("--max-evals", type=int, default=None, help="parametric's max_evals (default its own)")
    ap.add_argument("--only-trained", action="store_true", help="fill the trained L/p cache and stop")
    ap.add_argument("--mechanism", action="store_true",
                    help="also print mechanism properties of parametric vs the trained mean at p = 0.01")
    ap.add_argument("--points", default=None, help="kind:p,... (default all; one-hot rows need --points all)")
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    os.makedirs(args.cache, exist_ok=True)
    if args.max_evals is None:
        import inspect
        args.max_evals = inspect.signature(parametric).parameters["max_evals"].default
    print(f"machine: {os.cpu_count()}-core, load average {os.getloadavg()[0]:.1f} at start\n")
    rows = []
    points = POINTS if args.points in (None, "all") else [(k, float(q)) for k, q in
                                                          (x.split(":") for x in args.points.split(","))]
    for kind, p in points:
        tr = trained_lp(kind, p, seeds, args.cache, args.tol)
        if args.only_trained:
            continue
        w, d = parametric_fit(kind, p, args.cache, args.max_evals)
        pe = cached(os.path.join(args.cache, f"lp{args.tol:g}_parametric2_{kind}_{p:g}_{args.max_evals}.json"),
                    lambda w=w, kind=kind, p=p: lp(w, task(kind, p), args.tol))
        rows.append((kind, f"{p:g}", tr, pe, d["parameters"]))
    if args.only_trained:
        return
    print("| M | p | trained mean ± SE (sd, seeds) | parametric L/p ± SE | parametric / trained | parameters |")
    print("|---|---|---|---|---|---|")
    for kind, p, tr, pe, prm in rows:
        vals = np.array([r["value"] for r in tr])
        se = float(np.sqrt(np.sum(np.square([r["stderr"] for r in tr]))) / len(tr))
        m = float(vals.mean())
        ps = ", ".join(f"{k}={val:.4g}" for k, val in prm.items())
        print(f"| {kind} | {p} | {m:.6f} ± {se:.1e} (sd {vals.std(ddof=1):.1e}, {len(tr)}) | "
              f"{pe['value']:.6f} ± {pe['stderr']:.1e} | {pe['value'] / m:.4f} | {ps} |")
    if args.points not in (None, "all"):
        return
    print("\none-hot limit (exact one-hot loss; trained = the p = 0.001 models' one-hot loss, a reference only)\n")
    print("| M | trained p=0.001 one-hot (mean, seeds) | parametric fitted one-hot | ratio | parameters |")
    print("|---|---|---|---|---|")
    for kind in ONE_HOT:
        t1 = task(kind, 0.01, one_hot=True)
        tv = [cc.one_hot_loss(trained(kind, 0.001, s, args.cache), t1.mixing) for s in seeds]
        w, d = parametric_fit(kind, None, args.cache, args.max_evals)
        v1 = cc.one_hot_loss(w, t1.mixing)
        ps = ", ".join(f"{k}={val:.4g}" for k, val in d["parameters"].items())
        print(f"| {kind} | {np.mean(tv):.6f} ({len(tv)}) | {v1:.6f} | {v1 / np.mean(tv):.4f} | {ps} |")
    if args.mechanism:
        mechanism_table(seeds, args.cache, args.max_evals)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


MECH_KEYS = [("one_hot_loss", "one-hot", "{:.4f}"), ("offdiag_slope", "off-diag slope", "{:.2f}"),
             ("diag_intercept", "diag b", "{:.2f}"), ("explained_mean", "explained", "{:.3f}"),
             ("positive_share_abs", "pos. share |W_in|", "{:.2f}"), ("positive_share_sq", "pos. share W_in²", "{:.3f}"),
             ("pr_in_rows", "PR W_in rows", "{:.1f}"), ("pr_in_cols", "PR W_in cols", "{:.1f}"),
             ("pr_out_cols", "PR W_out cols", "{:.1f}"), ("interference_total", "I total", "{:.4f}"),
             ("interference_++", "I ++", "{:.4f}"), ("interference_+-", "I +-", "{:.4f}"),
             ("features_per_neuron", "feat./neuron", "{:.1f}"), ("negative_share", "neg. contrib.", "{:.3f}")]


def mechanism_table(seeds, cache, max_evals):
    """ccsolve.analysis.mechanism properties at p = 0.01: parametric vs the mean over trained seeds."""
    from ccsolve.analysis.mechanism import mechanism_summary

    print("\nmechanism at p = 0.01 (mechanism_summary, 16,384 Monte Carlo samples per sign combination)\n")
    print("| M | model | " + " | ".join(h for _, h, _ in MECH_KEYS) + " |")
    print("|---|---|" + "---|" * len(MECH_KEYS))
    for kind in ONE_HOT:
        t = task(kind, 0.01)
        w, _ = parametric_fit(kind, 0.01, cache, max_evals)
        par = mechanism_summary(w, t, n_samples=1 << 14, seed=0)
        tr = [mechanism_summary(trained(kind, 0.01, s, cache), t, n_samples=1 << 14, seed=0) for s in seeds]
        for name, row in (("trained (mean)", {k: float(np.mean([r[k] for r in tr])) for k, _, _ in MECH_KEYS}),
                          ("parametric", par)):
            print(f"| {kind} | {name} | " + " | ".join(f.format(row[k]) for k, _, f in MECH_KEYS) + " |",
                  flush=True)


if __name__ == "__main__":
    main()
