"""minimize_exact against the trained model on the embedding M (issue 8), at p = 0.01 and p = 0.001.

    python benchmarks/exact_objective_embedding.py [--maxiter 150] [--cache cache/exact_embedding]
                                                   [--ps 0.01,0.001] [--inits snmf,svd] [--exact-only]
                                                   [--no-polish] [--plot PNG]

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
        from ccsolve import train

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
    ap.add_argument("--plot", default=None,
                    help="also evaluate SNMF and minimize_one_hot at every p (tol 1e-4) and plot L/p against p")
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
    if args.plot:
        _p_plot(args, ps, base, e_res, list(t_res), exec_kw)


def _p_plot(args, ps, base, e_res, t_res, exec_kw):
    """L/p against p: trained (mean ± sd of 5 seeds), minimize_exact, SNMF, minimize_one_hot, naive, bound."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from ccsolve import naive_loss, one_hot_lower_bound
    from ccsolve.core.io import atomic_write_bytes
    from ccsolve.sweep import evaluate_point

    cons = {"snmf": {}, "minimize_one_hot": {"init": "snmf", "max_iter": 500}}
    cfg = [{**base, "p": p, "method": "auto", "tol": 1e-4, "construction": c, "construction_kwargs": kw}
           for c, kw in cons.items() for p in ps]
    c_res = list(run_sweep(evaluate_point, cfg, cache_dir=os.path.join(args.cache, "constructions"), **exec_kw))
    task = make_task({**base, "p": ps[0]})
    bound = one_hot_lower_bound(task.mixing, task.n_neurons)
    print("\n| p | trained mean ± sd (min) | minimize_exact | SNMF | minimize_one_hot | naive | one-hot bound |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    for p in ps:
        tr = np.array([r["loss_per_feature"] for c, r in t_res if c["p"] == p])
        ex = min(r["loss_per_feature"] for c, r in e_res if c["p"] == p and c["init"] != "train")
        sn, mo = (next(r["loss_per_feature"] for c, r in c_res if c["p"] == p and c["construction"] == k)
                  for k in cons)
        nv = naive_loss(make_task({**base, "p": p}))
        rows.append((p, tr.mean(), tr.std(ddof=1), ex, sn, mo, nv))
        print(f"| {p:g} | {tr.mean():.5f} ± {tr.std(ddof=1):.5f} ({tr.min():.5f}) | {ex:.5f} | {sn:.5f} | {mo:.5f} "
              f"| {nv:.5f} | {bound:.5f} |")
    rows = np.array(rows)
    fig = Figure(figsize=(7.5, 4.6))
    ax = fig.add_subplot(1, 1, 1)
    ax.errorbar(rows[:, 0], rows[:, 1], yerr=rows[:, 2], fmt="o-", color="k", capsize=3,
                label="trained (5 seeds, mean ± sd)")
    ax.plot(rows[:, 0], rows[:, 3], "s-", color="C3", label="minimize_exact (from " + args.inits.replace(",", "/") + ")")
    ax.plot(rows[:, 0], rows[:, 4], "v--", color="C2", label="SNMF")
    ax.plot(rows[:, 0], rows[:, 5], "^--", color="C0", label="minimize_one_hot")
    ax.plot(rows[:, 0], rows[:, 6], ":", color="grey", label="naive")
    ax.axhline(bound, ls="-.", color="C1", label="one-hot lower bound (p → 0)")
    ax.set_xscale("log")
    ax.set_ylim(0.05, 0.13)
    ax.set_xlabel("p (train = evaluation)")
    ax.set_ylabel("L/p")
    ax.set_title("embedding M (seed 0), n = 100, d = 50", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    atomic_write_bytes(args.plot, buf.getvalue())


if __name__ == "__main__":
    main()
