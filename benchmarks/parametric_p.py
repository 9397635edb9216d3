"""ccsolve.optimize.parametric against the trained models over p (embedding M seed 0 by default).

    python benchmarks/parametric_p.py [--kind embedding] [--ps 0.001,0.003,0.01,0.03] [--seeds 0,1]

Trained: ccsolve.train defaults, cached (benchmarks/mechanism_common.py); parametric fits are cached as
JSON in the same directory (shared with benchmarks/mechanism_tables.py). Every L/p:
loss_per_feature(method="auto", tol=--tol, default 1e-5).
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

import ccsolve as cc  # noqa: E402
from mechanism_common import DEFAULT_CACHE, task, trained  # noqa: E402
from mechanism_tables import parametric_for  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", default="embedding")
    ap.add_argument("--ps", default="0.001,0.003,0.01,0.03")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--cache", default=DEFAULT_CACHE)
    ap.add_argument("--tol", type=float, default=1e-5)
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    print(f"load average {os.getloadavg()[0]:.1f} at start\n")
    print("| p | trained mean (seeds) | parametric L/p | ratio | parameters |")
    print("|---|---|---|---|---|")
    start = None
    for p in [float(x) for x in args.ps.split(",")]:
        t = task(args.kind, p)
        tl = []
        for s in seeds:
            w = trained(args.kind, p, s, args.cache)
            tl.append(cc.loss_per_feature(w, t, method="auto", tol=args.tol).value)
        w, d = parametric_for(args.kind, p, args.cache, lambda m: print(m, file=sys.stderr, flush=True), start)
        start = d["parameters"]
        est = cc.loss_per_feature(w, t, method="auto", tol=args.tol)
        prm = ", ".join(f"{k}={val:.3g}" for k, val in d["parameters"].items())
        mt = float(np.mean(tl))
        print(f"| {p:g} | {mt:.5f} ({len(tl)}) | {est.value:.5f} ± {est.stderr:.0e} | {est.value / mt:.3f} | {prm} |",
              flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
