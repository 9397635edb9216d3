"""Benchmark: minimize_exact (new defaults, issue 13) against its previous defaults and ccsolve.train.

Measured in the same run, on embedding M (ccsolve.mixing.embedding(100, 1000, seed=0)), 50 neurons:
  train        ccsolve.train(task, steps=10_000, seed=s) (defaults otherwise), seeds 0..--train-seeds-1
  new          minimize_exact(task) (defaults at p = 0.01: init "snmf", maxiter 60, fused evaluation; other p:
               ccsolve/optimize/_exact_defaults.py), and with
               --maxiters the same call at other maxiter values
  previous     minimize_exact(task, init=["one_hot", "snmf"], maxiter=300, fused=False) (--previous)
Every L/p: loss_per_feature(method="auto", tol=1e-5) with an independent seed (minimize_exact's own
evaluation, evaluate=True), so each standard error is <= 1e-5. Times are wall time, JIT compilation
warmed up outside the timings; ratios are against the median train time; minimize_exact's time includes SNMF, the run and its tol=1e-5 evaluation,
train's does not include an evaluation (reported separately). `uptime` is printed with every timing.

Run:  python benchmarks/bench_minimize_exact.py [--ps 0.01] [--maxiters 80] [--train-seeds 5] [--previous]

Table mode (the p-dependent defaults, docs/exact_objective.md "Defaults by p"): the default call
minimize_exact(task) at each p (a p of "one-hot" is the one-hot task), timed, against trained weights read
from --trained-cache (files trained_embedding_p{p}_seed{s}.npz, ccsolve.Weights.save with metadata; each
evaluated here with loss_per_feature(method="auto", tol=1e-5)); with --train-missing the seeds
0..--train-seeds-1 not in the cache are trained first and saved there: ccsolve.train defaults, 10,000
steps, with non_empty_steps=True at p < 0.005 (10,000 non-empty batches, the project's convention since
issue 8; --non-empty-all: at every p) and plain steps at p >= 0.005 and for the one-hot task:
      python benchmarks/bench_minimize_exact.py --table --ps 0.001,0.003,0.01,0.03,one-hot \
          --trained-cache /tmp/smallp2-runs --train-missing
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ps", default="0.01", help="comma-separated feature probabilities")
    ap.add_argument("--maxiters", default="60", help="comma-separated maxiter values for the new defaults")
    ap.add_argument("--train-seeds", type=int, default=5)
    ap.add_argument("--previous", action="store_true", help="also time the previous defaults (slow: ~3 min idle)")
    ap.add_argument("--table", action="store_true", help="default call per p against cached trained weights")
    ap.add_argument("--trained-cache", default=None, help="directory of trained_embedding_p{p}_seed{s}.npz")
    ap.add_argument("--train-missing", action="store_true",
                    help="table mode: train the seeds missing from --trained-cache and save them")
    ap.add_argument("--non-empty-all", action="store_true",
                    help="table mode: non_empty_steps=True at every p (default: only at p < 0.005)")
    args = ap.parse_args()
    if args.table:
        return table(args)

    import ccsolve
    from ccsolve.constructions import minimize_exact
    from ccsolve.loss import loss_per_feature

    m = ccsolve.mixing.embedding(100, 1000, seed=0)
    # warm-up (JIT) outside the timings
    small = ccsolve.Task(m, 50, 0.01)
    ccsolve.train(small, steps=50, seed=0, progress=False)
    minimize_exact(small, maxiter=2, eval_tol=1e-3)
    minimize_exact(small, maxiter=2, eval_tol=1e-3, fused=False)
    print("machine:", os.cpu_count(), "cores;", uptime())
    rows = []
    for p in [float(x) for x in args.ps.split(",")]:
        task = ccsolve.Task(m, 50, p)
        train_times, trained = [], []
        for s in range(args.train_seeds):
            t = time.perf_counter()
            r = ccsolve.train(task, steps=10_000, seed=s, progress=False)
            train_times.append(time.perf_counter() - t)
            est = loss_per_feature(r.weights, task, method="auto", tol=1e-5, seed=1000 + s)
            trained.append(est)
            print(f"p={p} train seed {s}: {train_times[-1]:.2f} s, L/p {est.value:.6f} +- {est.stderr:.1e}  | {uptime()}",
                  flush=True)
        t_train = float(sorted(train_times)[len(train_times) // 2])  # median: the machine is shared
        best = min(trained, key=lambda e: e.value)
        for mi in [int(x) for x in args.maxiters.split(",")]:
            t = time.perf_counter()
            res = minimize_exact(task, maxiter=mi)
            dt = time.perf_counter() - t
            z = (best.value - res.loss.value) / (best.stderr ** 2 + res.loss.stderr ** 2) ** 0.5
            print(f"p={p} new (maxiter={mi}): {dt:.2f} s = {dt / t_train:.2f}x median train; L/p {res.loss.value:.6f} "
                  f"+- {res.loss.stderr:.1e} (F {res.objective:.6f}, {res.n_iter} it.); best trained "
                  f"{best.value:.6f}: {z:.1f} SE below  | {uptime()}", flush=True)
            rows.append((p, f"new, maxiter={mi}", dt, dt / t_train, res.loss.value, res.loss.stderr, z))
        if args.previous:
            t = time.perf_counter()
            res = minimize_exact(task, init=["one_hot", "snmf"], maxiter=300, fused=False)
            dt = time.perf_counter() - t
            z = (best.value - res.loss.value) / (best.stderr ** 2 + res.loss.stderr ** 2) ** 0.5
            print(f"p={p} previous: {dt:.2f} s = {dt / t_train:.2f}x train; L/p {res.loss.value:.6f} +- "
                  f"{res.loss.stderr:.1e} ({res.init}, {res.n_iter} it.); {z:.1f} SE below best trained  | {uptime()}",
                  flush=True)
            rows.append((p, "previous defaults", dt, dt / t_train, res.loss.value, res.loss.stderr, z))
        rows.append((p, f"train best of {args.train_seeds} (median time)", t_train, 1.0, best.value, best.stderr, 0.0))
    print("\n| p | run | wall s | / train | L/p | stderr | SE below best trained |\n|---|---|---|---|---|---|---|")
    for p, name, dt, ratio, val, se, z in rows:
        print(f"| {p} | {name} | {dt:.2f} | {ratio:.2f} | {val:.6f} | {se:.1e} | {z:.1f} |")
    print("machine:", uptime())


def table(args):
    import ccsolve
    from ccsolve.constructions import minimize_exact
    from ccsolve.loss import loss_per_feature

    m = ccsolve.mixing.embedding(100, 1000, seed=0)
    minimize_exact(ccsolve.Task(m, 50, 0.01), maxiter=2, eval_tol=1e-3)  # JIT warm-up
    print("machine:", os.cpu_count(), "cores;", uptime())
    rows = []
    for ps in args.ps.split(","):
        task = ccsolve.Task(m, 50, 0.01, one_hot=True) if ps == "one-hot" else ccsolve.Task(m, 50, float(ps))
        t = time.perf_counter()
        res = minimize_exact(task)
        dt = time.perf_counter() - t
        print(f"p={ps}: default call {dt:.1f} s, init {res.init}, {res.n_iter} it., L/p {res.loss.value:.6f} +- "
              f"{res.loss.stderr:.1e} (F {res.objective:.6f})  | {uptime()}", flush=True)
        trained = []
        if args.trained_cache and args.train_missing:
            os.makedirs(args.trained_cache, exist_ok=True)
            for s in range(args.train_seeds):
                f = os.path.join(args.trained_cache, f"trained_embedding_p{ps}_seed{s}.npz")
                ne = not task.one_hot and (args.non_empty_all or task.p < 0.005)
                if not os.path.exists(f):
                    r = ccsolve.train(task, steps=10_000, seed=s, non_empty_steps=ne, progress=False)
                    r.weights.save(f, steps=10_000, non_empty_steps=ne, seed=s)
        if args.trained_cache:
            files = [os.path.join(args.trained_cache, f"trained_embedding_p{ps}_seed{s}.npz") for s in range(args.train_seeds)]
            for f in [f for f in files if os.path.exists(f)]:
                meta = ccsolve.Weights.load_metadata(f)
                est = loss_per_feature(ccsolve.Weights.load(f), task, method="auto", tol=1e-5, seed=1000)
                trained.append(est)
                print(f"  trained {os.path.basename(f)} (steps {meta.get('steps')}, non_empty_steps "
                      f"{meta.get('non_empty_steps')}): L/p {est.value:.6f} +- {est.stderr:.1e}", flush=True)
        best = min(trained, key=lambda e: e.value) if trained else None
        z = ((best.value - res.loss.value) / max((best.stderr ** 2 + res.loss.stderr ** 2) ** 0.5, 1e-12)
             if best is not None else float("nan"))
        rows.append((ps, res.init, res.n_iter, res.loss.value, res.loss.stderr, dt, len(trained),
                     best.value if best else float("nan"), best.stderr if best else float("nan"), z))
    print("\n| p | init | it. | default L/p | stderr | wall s | best trained (n seeds) | its stderr | SE below best |\n"
          "|---|---|---|---|---|---|---|---|---|")
    for ps, init, it, val, se, dt, nt, bv, bse, z in rows:
        zs = "exact" if se == 0 and bse == 0 else f"{z:.1f}"  # one-hot: both losses in closed form
        print(f"| {ps} | {init} | {it} | {val:.6f} | {se:.1e} | {dt:.1f} | {bv:.6f} ({nt}) | {bse:.1e} | {zs} |")
    print("machine:", uptime())


if __name__ == "__main__":
    main()
