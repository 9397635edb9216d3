"""minimize_exact against the trained model on the embedding M (issue 8), at p = 0.01 and p = 0.001.

    python benchmarks/exact_objective_embedding.py [--maxiter 150] [--cache cache/exact_embedding]
                                                   [--ps 0.01,0.001] [--inits snmf,svd] [--exact-only]

M = ccsolve.mixing.embedding(100, 1000, seed=0). minimize_exact starts from SNMF and from the truncated
SVD of I + M (constructions, no sampled data: the
objective is exact in E_1, E_2 plus a fixed-sample tail) and, separately, from a trained model
(a polish). Trained: ccsolve.train defaults (10,000 steps at p = 0.01; at p = 0.001 non_empty_steps=True,
i.e. 10,000 non-empty batches as in the sparsity sweeps), seeds 0..4. Every model is evaluated with
loss_per_feature(method="auto", tol=1e-5). Points are cached (ccsolve.sweep.run_sweep): rerun to resume.
Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import subprocess

import numpy as np

from ccsolve.sweep import make_task, run_sweep, train_point

TOL = 1e-5


def exact_point(config: dict) -> dict:
    from ccsolve.constructions import minimize_exact
    from ccsolve.weights import Weights

    task = make_task({k: config[k] for k in ("mixing", "seed", "p")})
    init = config["init"]
    if init == "train":
        from ccsolve.train import train

        kw = {"non_empty_steps": True} if config["p"] < 0.005 else {}
        init = train(task, seed=config["train_seed"], progress=False, **kw).weights
    res = minimize_exact(task, init=init, seed=config["opt_seed"], maxiter=config["maxiter"],
                         n_tail_samples=config["n_tail_samples"], eval_tol=TOL)
    assert isinstance(res.weights, Weights)
    return {"loss_per_feature": res.loss.value, "stderr": res.loss.stderr, "method": res.loss.method,
            "objective": res.objective, "one_hot_loss": res.one_hot_loss, "lower_bound": res.lower_bound,
            "runs": [{k: r[k] for k in ("init", "start_objective", "objective", "n_iter", "converged")}
                     for r in res.runs], "seconds_total": res.seconds, "ks": list(res.ks),
            "tail_counts": list(res.tail_counts)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--maxiter", type=int, default=150)
    ap.add_argument("--n-tail-samples", type=int, default=1 << 15)
    ap.add_argument("--cache", default="cache/exact_embedding")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-polish", action="store_true", help="skip minimize_exact from trained inits")
    ap.add_argument("--inits", default="snmf,svd", help="construction inits for minimize_exact")
    ap.add_argument("--exact-only", action="store_true",
                    help="only the runs from construction inits (and their rows of the table)")
    ap.add_argument("--ps", default="0.01,0.001", help="comma-separated p values")
    args = ap.parse_args(argv)
    ps = [float(x) for x in args.ps.split(",")]
    base = {"mixing": "embedding", "seed": 0}
    inits = args.inits.split(",")
    ex = [{**base, "p": p, "init": i, "opt_seed": 0, "maxiter": args.maxiter,
           "n_tail_samples": args.n_tail_samples} for i in inits for p in ps]
    n_con = len(ex)
    if not args.no_polish:
        ex += [{**base, "p": p, "init": "train", "train_seed": 0, "opt_seed": 0, "maxiter": args.maxiter,
                "n_tail_samples": args.n_tail_samples} for p in ps]
    tr = []
    for p in ps:
        kw = {"non_empty_steps": True} if p < 0.005 else {}
        tr += [{**base, "p": p, "method": "auto", "tol": TOL, "train": {"seed": s, **kw}} for s in range(5)]
    exec_kw = {"executor": "serial"} if args.workers == 1 else {"max_workers": args.workers}
    # SNMF-started runs first: they need no trainer
    e_res = list(run_sweep(exact_point, ex[:n_con], cache_dir=os.path.join(args.cache, "exact"), **exec_kw))
    t_res = [] if args.exact_only else run_sweep(train_point, tr, cache_dir=os.path.join(args.cache, "trained"),
                                                 **exec_kw)
    if len(ex) > n_con and not args.exact_only:
        e_res += list(run_sweep(exact_point, ex[n_con:], cache_dir=os.path.join(args.cache, "exact"), **exec_kw))
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"machine: 2-core, {load}\n")
    print("| p | model | L/p | stderr | notes |\n|---|---|---|---|---|")
    for p in ps:
        vals = [(c["train"]["seed"], r) for c, r in t_res if c["p"] == p]
        for s, r in vals:
            print(f"| {p} | trained seed {s} | {r['loss_per_feature']:.6f} | {r['stderr']:.1e} | {r['method']} |")
        if vals:
            arr = np.array([r["loss_per_feature"] for _, r in vals])
            print(f"| {p} | trained mean (5 seeds) | {arr.mean():.6f} | sd {arr.std(ddof=1):.1e} | "
                  f"min {arr.min():.6f}, max {arr.max():.6f} |")
        for c, r in e_res:
            if c["p"] != p:
                continue
            name = (f"minimize_exact from {c['init'].upper()}" if c["init"] != "train"
                    else f"minimize_exact from trained seed {c['train_seed']} (polish)")
            run = r["runs"][0]
            print(f"| {p} | {name} | {r['loss_per_feature']:.6f} | {r['stderr']:.1e} | F {run['start_objective']:.6f} -> "
                  f"{r['objective']:.6f} in {run['n_iter']} it., {r['seconds_total']:.0f} s; one-hot {r['one_hot_loss']:.4f} "
                  f"(bound {r['lower_bound']:.4f}) |")


if __name__ == "__main__":
    main()
