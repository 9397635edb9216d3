"""Optimal L/p vs sigma (random and symmetric M) at p = 0.01: the post's Figure 5b with the constructions.

    python benchmarks/exact_objective_sweep.py [--maxiter 40] [--cache cache/exact_sweep] [--workers 2]

Per (kind, sigma), M = ccsolve.mixing.random(100, sigma, seed=0, symmetric=kind == "symmetric"):
  minimize_exact   from SNMF (variable projection, `maxiter` iterations, 8192 fixed tail samples)
  minimize_one_hot init "snmf", 500 iterations (the p -> 0 optimum; scored at p = 0.01)
  snmf             ccsolve.constructions.snmf defaults
  trained          ccsolve.train, 10,000 steps, seeds 0..4 (mean and sample sd)
  one-hot bound    ccsolve.one_hot_lower_bound (a bound in the p -> 0 limit only)
Every model: loss_per_feature(method="auto", tol=1e-4). Cached per point (ccsolve.sweep.run_sweep), so an
interrupted run resumes. Prints a markdown table and writes docs/exact_objective_sigma.png.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess

import numpy as np

from ccsolve.sweep import evaluate_point, make_task, run_sweep, train_point

TOL = 1e-4
SIGMAS = [0.01, 0.02, 0.03, 0.04, 0.05, 0.06]
KINDS = ["random", "symmetric"]
P = 0.01


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--maxiter", type=int, default=40)
    ap.add_argument("--cache", default="cache/exact_sweep")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--plot", default="docs/exact_objective_sigma.png")
    args = ap.parse_args(argv)
    exec_kw = {"executor": "serial"} if args.workers == 1 else {"max_workers": args.workers}
    base = [{"mixing": k, "sigma": s, "seed": 0, "p": P, "method": "auto", "tol": TOL} for k in KINDS for s in SIGMAS]
    cons = {
        "minimize_exact": {"init": "snmf", "maxiter": args.maxiter, "n_tail_samples": 8192, "evaluate": False},
        "minimize_one_hot": {"init": "snmf", "max_iter": 500},
        "snmf": {},
    }
    configs = [{**b, "construction": c, "construction_kwargs": kw} for c, kw in cons.items() for b in base]
    res = list(run_sweep(evaluate_point, configs, cache_dir=os.path.join(args.cache, "constructions"), **exec_kw))
    tr = [{**b, "train": {"seed": s, "steps": 10_000}} for b in base for s in range(5)]
    t_res = list(run_sweep(train_point, tr, cache_dir=os.path.join(args.cache, "trained"), **exec_kw))

    from ccsolve import naive_loss, one_hot_lower_bound

    rows = {}
    for b in base:
        key = (b["mixing"], b["sigma"])
        task = make_task(b)
        row = {"naive": naive_loss(task), "bound": one_hot_lower_bound(task.mixing, task.n_neurons)}
        for c, r in res:
            if (c["mixing"], c["sigma"]) == key:
                row[c["construction"]] = (r["loss_per_feature"], r["stderr"])
        vals = np.array([r["loss_per_feature"] for c, r in t_res if (c["mixing"], c["sigma"]) == key])
        row["trained"] = (vals.mean(), vals.std(ddof=1), vals.min())
        rows[key] = row
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"machine: 2-core, {load}\n")
    print("| M | sigma | minimize_exact | minimize_one_hot | SNMF | trained mean ± sd (min) | naive | one-hot bound |")
    print("|---|---|---|---|---|---|---|---|")
    for (k, s), r in rows.items():
        f = lambda name: f"{r[name][0]:.5f}"  # noqa: E731
        t = r["trained"]
        print(f"| {k} | {s} | {f('minimize_exact')} | {f('minimize_one_hot')} | {f('snmf')} | {t[0]:.5f} ± {t[1]:.5f} "
              f"({t[2]:.5f}) | {r['naive']:.4f} | {r['bound']:.4f} |")
    print(f"\nstandard errors <= {TOL:g} (loss_per_feature method='auto', tol={TOL:g})")
    _plot(rows, args.plot)


def _plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from ccsolve.core.io import atomic_write_bytes

    fig = Figure(figsize=(11, 4.2))
    for i, kind in enumerate(KINDS):
        ax = fig.add_subplot(1, 2, i + 1)
        s = np.array(SIGMAS)
        get = lambda name: np.array([rows[(kind, x)][name][0] for x in SIGMAS])  # noqa: E731
        tr = np.array([rows[(kind, x)]["trained"][:2] for x in SIGMAS])
        ax.errorbar(s, tr[:, 0], yerr=tr[:, 1], fmt="o-", color="k", capsize=3, label="trained (5 seeds, mean ± sd)")
        ax.plot(s, get("minimize_exact"), "s-", color="C3", label="minimize_exact (from SNMF)")
        ax.plot(s, get("minimize_one_hot"), "^--", color="C0", label="minimize_one_hot")
        ax.plot(s, get("snmf"), "v--", color="C2", label="SNMF")
        ax.plot(s, [rows[(kind, x)]["naive"] for x in SIGMAS], ":", color="grey", label="naive")
        ax.plot(s, [rows[(kind, x)]["bound"] for x in SIGMAS], "-.", color="C1", label="one-hot lower bound")
        ax.set_title(f"{kind} M, p = {P}")
        ax.set_xlabel("sigma")
        ax.set_ylabel("L/p")
        ax.set_ylim(0.04, 0.13)
        if i == 0:
            ax.legend(fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    atomic_write_bytes(path, buf.getvalue())


if __name__ == "__main__":
    main()
