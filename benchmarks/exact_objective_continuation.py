"""minimize_exact by continuation in p: SNMF -> optimum at p = 0.01 -> optimum at each smaller p.

    python benchmarks/exact_objective_continuation.py [--ps 0.01,0.001] [--maxiter 150,300]
                                                      [--cache cache/exact_continuation]

M = ccsolve.mixing.embedding(100, 1000, seed=0). Stage 1 is minimize_exact at the first p from SNMF (a
construction, no sampled data); each later stage starts minimize_exact at the next p from the previous
stage's weights. So every stage is a constructed solution. Each stage's result is cached (a run_sweep
point keyed by the whole chain), so an interrupted run resumes. Every L/p: loss_per_feature(method="auto",
tol=1e-5). Prints a markdown table (compare with the trained rows of docs/exact_objective.md).
"""

from __future__ import annotations

import argparse
import os
import subprocess

from ccsolve.sweep import make_task, run_sweep

TOL = 1e-5
N_TAIL = 1 << 15


def stage_point(config: dict) -> dict:
    """Run the chain config["ps"] (with config["maxiters"]) and return every stage's result and weights."""
    from ccsolve.constructions import minimize_exact
    from ccsolve.loss import loss_per_feature
    from ccsolve.weights import Weights

    init = "snmf"
    out = []
    for p, maxiter in zip(config["ps"], config["maxiters"]):
        task = make_task({"mixing": "embedding", "seed": 0, "p": p})
        if isinstance(init, Weights):
            start = loss_per_feature(init, task, method="auto", tol=TOL, seed=1)
            start_loss = [start.value, start.stderr]
        else:
            start_loss = None
        res = minimize_exact(task, init=init, seed=0, maxiter=maxiter, n_tail_samples=N_TAIL, eval_tol=TOL)
        run = res.runs[0]
        out.append({"p": p, "maxiter": maxiter, "start_loss": start_loss, "loss_per_feature": res.loss.value,
                    "stderr": res.loss.stderr, "objective": res.objective, "start_objective": run["start_objective"],
                    "n_iter": run["n_iter"], "seconds": res.seconds, "one_hot_loss": res.one_hot_loss,
                    "lower_bound": res.lower_bound, "W_in": res.weights.W_in.tolist(),
                    "W_out": res.weights.W_out.tolist()})
        init = res.weights
    return {"stages": out}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ps", default="0.01,0.001")
    ap.add_argument("--maxiter", default="150,300", help="iterations per stage (comma-separated)")
    ap.add_argument("--cache", default="cache/exact_continuation")
    args = ap.parse_args(argv)
    ps = [float(x) for x in args.ps.split(",")]
    its = [int(x) for x in args.maxiter.split(",")]
    if len(its) != len(ps):
        ap.error("--maxiter needs one value per p")
    cfg = {"ps": ps, "maxiters": its}
    ((_, res),) = run_sweep(stage_point, [cfg], cache_dir=args.cache, executor="serial")
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"machine: 2-core, {load}\n")
    print("| stage | p | init | L/p of the init at this p | minimize_exact L/p | stderr | notes |")
    print("|---|---|---|---|---|---|---|")
    for k, st in enumerate(res["stages"]):
        init = "SNMF" if k == 0 else f"stage {k} (p = {ps[k - 1]:g})"
        start = "" if st["start_loss"] is None else f"{st['start_loss'][0]:.6f} ± {st['start_loss'][1]:.1e}"
        print(f"| {k + 1} | {st['p']:g} | {init} | {start} | {st['loss_per_feature']:.6f} | {st['stderr']:.1e} | "
              f"F {st['start_objective']:.6f} -> {st['objective']:.6f} in {st['n_iter']} it., {st['seconds']:.0f} s; "
              f"one-hot {st['one_hot_loss']:.4f} (bound {st['lower_bound']:.4f}) |")


if __name__ == "__main__":
    main()
