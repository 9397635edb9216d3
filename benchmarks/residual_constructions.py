"""Residual constructions on a preset: naive and minimize_exact, evaluated at p by the stratified estimator.

Usage: python benchmarks/residual_constructions.py PRESET OBJECTIVE MAX_ITER [INIT [N_TAIL_SAMPLES]]
  e.g. nice -n 10 python benchmarks/residual_constructions.py resid_mlp2 stratified 300
Task seed 0 (the embedding), construction seed 0; naive with 2^18 samples, the construction with 2^20
(evaluation seed 1, independent of the construction's fixed tail samples). docs/residual.md.
"""
import sys, time, numpy as np
import ccsolve.residual as R
from ccsolve.residual.constructions import naive, minimize_exact
name = sys.argv[1]; kind = sys.argv[2]; it = int(sys.argv[3]); init = sys.argv[4] if len(sys.argv)>4 else "naive"
n_tail = int(sys.argv[5]) if len(sys.argv)>5 else 1 << 14
task = R.ResidualTask.from_preset(name, seed=0)
w = naive(task)
print(name, "naive", R.loss_per_feature(w, task, n_samples=1<<18, seed=1), R.one_hot_loss(w, task), flush=True)
t=time.time()
r = minimize_exact(task, kind, init=init, max_iter=it, seed=0, n_tail_samples=n_tail)
print(r, flush=True)
e = R.loss_per_feature(r.weights, task, n_samples=1<<20, seed=1)
print(name, kind, init, it, n_tail, "L/p", e.value, e.stderr, "oh", r.one_hot_loss, "s", r.seconds, flush=True)
