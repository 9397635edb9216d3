"""Scratch variants of ccsolve.optimize.parametric measured for issue 14 (docs/mechanism.md, "parametric").

    python benchmarks/parametric_variants.py KIND P VARIANT [MAX_EVALS] [REFINE_ROUNDS]

VARIANT: base (the 3-scalar construction), ls (inhibition + x3 * negative part of the unconstrained
least-squares reads), pow (positive reads raised to exp(x3), row norm kept), sq (target I + a M + x3 M^2),
spec (the negative-eigenvalue half of sym(M) scaled by exp(x3)), alt (the refinement that became
parametric's 4th scalar mu). Nelder-Mead from the 3-scalar fit on ExactObjective (8192 tail samples) at P;
prints the fitted objective F and the one-hot loss. Not part of the library.
"""
import sys
import time

import numpy as np

sys.path.insert(0, __import__("os").path.dirname(__file__))
from mechanism_common import task
from scipy.optimize import minimize

import ccsolve as cc
from ccsolve.optimize.exact import ExactObjective
from ccsolve.optimize.parametric import sparse_snmf

kind = sys.argv[1]; p = float(sys.argv[2]); variant = sys.argv[3]; maxfev = int(sys.argv[4]) if len(sys.argv) > 4 else 60
t = task(kind, p)
obj = ExactObjective(t, n_tail_samples=8192, seed=0)
n = 100; M = t.mixing; d = 50

def build(x):
    a, lam, c = np.exp(x[0]), np.exp(x[1]), x[2]
    T = np.eye(n) + a * M
    if variant == "sq":
        T = T + x[3] * (M @ M)
    if variant == "spec":
        S = (M + M.T) / 2
        lam_, V = np.linalg.eigh(S)
        Sm = (V * np.minimum(lam_, 0)) @ V.T
        T = T + (np.exp(x[3]) - 1) * a * Sm
    B = sparse_snmf(T, d, lam)
    mean = B.mean(axis=1, keepdims=True)
    if variant == "ls":
        # data-driven inhibition: negative part of the unconstrained readout of T
        # A from B: least squares
        G = B @ B.T
        A = np.linalg.solve(G + 1e-12*np.trace(G)*np.eye(d), B @ T.T).T
        Bls = np.linalg.lstsq(A, T, rcond=None)[0]
        W = np.where(B == 0, -c * mean + x[3] * np.minimum(Bls, 0) , B)
    elif variant == "pow":
        g = np.exp(x[3])
        Bp = B ** g
        Bp *= (np.linalg.norm(B, axis=1, keepdims=True) / np.maximum(np.linalg.norm(Bp, axis=1, keepdims=True), 1e-300))
        W = np.where(B == 0, -c * mean, Bp)
    else:
        W = np.where(B == 0, -c * mean, B)
    if variant == "alt":
        from ccsolve._kernels.nnls import nnls_gram
        for _ in range(int(sys.argv[5]) if len(sys.argv) > 5 else 3):
            A = obj.readout(W)
            Bn = np.ascontiguousarray(np.maximum(np.linalg.lstsq(A, T, rcond=None)[0], 0))
            nnls_gram(A.T @ A, np.ascontiguousarray(A.T @ T - 0.5 * lam * np.exp(x[3])), Bn, 1e-12, 20 * d + 100)
            mean = Bn.mean(axis=1, keepdims=True)
            W = np.where(Bn == 0, -c * mean, Bn)
    return cc.Weights(W, obj.readout(W))

neutral = {"base": [], "sq": [0.0], "ls": [0.0], "pow": [0.0], "spec": [0.0], "alt": [0.0]}[variant]
x0 = np.array([np.log(1.533), np.log(0.0295), 0.401] + neutral)
t0 = time.time(); f0 = obj.value(build(x0)); print("start", f0, time.time() - t0, flush=True)
steps = [0.3, 0.5, 0.15] + [0.2] * len(neutral)
sim = x0 + np.vstack([np.zeros(len(x0)), np.diag(steps)])
n_ev = 0
def f(x):
    global n_ev; n_ev += 1
    return obj.value(build(x))
r = minimize(f, x0, method="Nelder-Mead", options={"maxfev": maxfev, "initial_simplex": sim, "xatol": 1e-3, "fatol": 1e-7})
print(variant, kind, p, "F", r.fun, "x", list(r.x), n_ev, f"{time.time()-t0:.0f}s", flush=True)
w = build(r.x)
print("one-hot", cc.one_hot_loss(w, M))
np.savez(f"/tmp/parametric_variant_exp_{variant}_{kind}_{p}.npz", W_in=w.W_in, W_out=w.W_out, x=r.x)
