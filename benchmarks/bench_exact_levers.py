"""Scratch-level lever measurements for minimize_exact's p-dependent defaults (docs/exact_objective.md,
"Defaults by p"). Embedding M (ccsolve.mixing.embedding(100, 1000, seed=0)), 50 neurons. Each argument is
one run, P:KIND[:key=value...]:
  P      a feature probability or "oh" (the one-hot task)
  KIND   def (init "auto"), onehot (init = the cached minimize_one_hot solution,
         /work/runs/mechanism/minimize_one_hot_embedding.npz), ohcomp (init "one_hot", computed),
         cont<P0> (the default call at P0, evaluate=False, then its weights as the init at P),
         chain<P0>,<P1>,... (the same through several p)
  keys   maxiter, nts (n_tail_samples), and any other int option of minimize_exact (e.g. tail_redraws)
Prints L/p (loss_per_feature method="auto", tol=1e-5, minimize_exact's own evaluation), F, iterations,
one-hot loss, wall time (continuation stages included) and the load average.
Run: python benchmarks/bench_exact_levers.py 0.001:def 0.001:cont0.01 0.03:def:nts=131072:maxiter=100
"""
import sys, time, subprocess
import numpy as np
import ccsolve
from ccsolve.constructions import minimize_exact
m = ccsolve.mixing.embedding(100, 1000, seed=0)
def T(p): return ccsolve.Task(m, 50, 0.01, one_hot=True) if p == "oh" else ccsolve.Task(m, 50, float(p))
minimize_exact(ccsolve.Task(m, 50, 0.01), maxiter=2, eval_tol=1e-3)
def up(): return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip().split("load average:")[1]
cache = {}
for spec in sys.argv[1:]:
    p, kind, *rest = spec.split(":")
    kw = dict(x.split("=") for x in rest)
    mi = int(kw.pop("maxiter", 60)); nts = int(kw.pop("nts", 1 << 15))
    t = time.perf_counter()
    task = T(p)
    init = "auto"
    if kind == "onehot":
        init = ccsolve.Weights.load("/work/runs/mechanism/minimize_one_hot_embedding.npz")
    elif kind.startswith("cont"):  # cont0.01 : solve default at that p first
        p0 = kind[4:]
        r0 = minimize_exact(T(p0), evaluate=False)
        init = r0.weights
    elif kind.startswith("chain"):
        init = "auto"
        for p0 in kind[5:].split(","):
            init = minimize_exact(T(p0), init=init, evaluate=False).weights
    elif kind == "ohcomp":
        init = "one_hot"
    r = minimize_exact(task, init=init, maxiter=mi, n_tail_samples=nts, **{k: int(x) for k, x in kw.items()})
    dt = time.perf_counter() - t
    print(f"{spec}: L/p {r.loss.value:.6f} +- {r.loss.stderr:.1e} F {r.objective:.6f} it {r.n_iter} oh {r.one_hot_loss:.5f} {dt:.1f}s load{up()}", flush=True)
