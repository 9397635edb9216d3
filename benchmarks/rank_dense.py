"""Issue 14 item 4: the loss against the rank of M (a) and the dense regime with M != 0 (b).

    python benchmarks/rank_dense.py rank  [--families flat,psd,nsd] [--ranks 1,5,20,50,100] [--tol 1e-5]
    python benchmarks/rank_dense.py dense [--ps 0.2,0.5,1] [--seeds 0,1,2] [--tol 1e-5] [--clean] [--random]
    python benchmarks/rank_dense.py bounds    # the closed-form columns of (a) only, seconds

(a) M = s * low_rank(100, r, seed=0, ...) with s chosen so that ||M||_F equals the embedding M's (seed 0,
    ||M||_F = 3.1845): families "flat" (flat_spectrum: r singular values F / sqrt(r), U, V independent),
    "psd" (flat_spectrum + U_equals_V: F / sqrt(r) times an orthogonal projection), "nsd" (minus that).
    Columns at one-hot and at p = 0.01: subspace bound (ccsolve.bounds.lower_bound), naive (closed form),
    SNMF exact, minimize_exact (defaults), trained (ccsolve.train defaults, seed 0), each L/p by
    loss_per_feature(method="auto", tol=--tol) unless exact.
(b) embedding M seed 0 (--random: also the non-symmetric random M, sigma 0.025 seed 0; --clean: M = 0) at p = 0.2, 0.5, 1: naive + offset (closed form), dense_offset (closed form, exact),
    trained (ccsolve.train defaults, seeds --seeds, cached by benchmarks/mechanism_common.py) and the bound.

Every computed cell is cached as JSON in --cache (default /work/runs/rankdense), so runs are resumable.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))

import ccsolve as cc
from ccsolve.bounds import lower_bound
from ccsolve.constructions import dense_offset, snmf
from ccsolve.evaluation.closed_forms import (
    naive_loss,
    naive_offset_loss,
    optimal_offset,
)
from ccsolve.evaluation.loss import loss_per_feature

CACHE = os.environ.get("CCSOLVE_RANKDENSE_CACHE", "/work/runs/rankdense")
FAMILIES = ("flat", "psd", "nsd")


def frobenius_target() -> float:
    return float(np.linalg.norm(cc.mixing.embedding(100, 1000, seed=0)))


def rank_mixing(family: str, rank: int) -> np.ndarray:
    if family == "flat":
        m = cc.mixing.low_rank(100, rank, seed=0, flat_spectrum=True)
    elif family in ("psd", "nsd"):
        m = cc.mixing.low_rank(100, rank, seed=0, flat_spectrum=True, U_equals_V=True)
        if family == "nsd":
            m = -m
    else:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")
    return m * (frobenius_target() / np.linalg.norm(m))


def cached(cache: str, key: str, fn):
    path = os.path.join(cache, key + ".json")
    if os.path.exists(path):
        with open(path) as fh:
            return json.load(fh)
    t0 = time.time()
    out = fn()
    out["seconds"] = time.time() - t0
    out["load"] = os.getloadavg()[0]
    os.makedirs(cache, exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(out, fh)
    os.replace(tmp, path)
    print(f"  computed {key}: {out} ", flush=True)
    return out


def _est(w, task, tol):
    e = loss_per_feature(w, task, method="auto", tol=tol, seed=12345)
    return {"value": float(e.value), "se": float(e.stderr)}


def rank_cells(family, rank, one_hot, tol, cache, heavy=True):
    m = rank_mixing(family, rank)
    task = cc.Task(m, 50, 0.01, one_hot=one_hot)
    where = "onehot" if one_hot else "p0.01"
    key = f"rank_{family}_r{rank}_{where}"
    row = {
        "effective_rank": cc.mixing.effective_rank(m),
        "bound": lower_bound(task).value,
        "naive": naive_loss(task),
    }
    row["snmf"] = cached(cache, key + "_snmf", lambda: _est(snmf(task).weights, task, tol))
    if heavy:
        row["minimize_exact"] = cached(cache, key + "_minex", lambda: _minex(task, tol))
        row["trained"] = cached(cache, key + "_trained", lambda: _est(cc.train(task, progress=False).weights,
                                                                          task, tol))
    return row


def _minex(task, tol):
    from ccsolve.optimize.exact import minimize_exact

    r = minimize_exact(task, eval_tol=tol)
    return {"value": float(r.loss.value), "se": float(r.loss.stderr), "init": str(r.init)}


def _fmt(cell):
    if cell is None:
        return "–"
    if isinstance(cell, dict):
        return f"{cell['value']:.5f}" + (f" ± {cell['se']:.1e}" if cell["se"] > 0 else "")
    return f"{cell:.5f}"


def cmd_rank(args, heavy=True):
    families = args.families.split(",")
    ranks = [int(r) for r in args.ranks.split(",")]
    print(f"||M||_F held at {frobenius_target():.4f} (embedding M seed 0); load average {os.getloadavg()[0]:.1f}\n")
    for one_hot in (True, False):
        where = "one-hot" if one_hot else "p = 0.01"
        print(f"\n{where}: L/p\n")
        print("| family | rank | eff. rank | subspace bound | trained | minimize_exact | SNMF exact | naive | "
              "trained / bound |")
        print("|---|---|---|---|---|---|---|---|---|")
        for fam in families:
            for r in ranks:
                row = rank_cells(fam, r, one_hot, args.tol, args.cache, heavy=heavy and fam in args.heavy.split(","))
                tr = row.get("trained")
                ratio = f"{tr['value'] / row['bound']:.3f}" if tr else "–"
                print(f"| {fam} | {r} | {row['effective_rank']:.1f} | {row['bound']:.5f} | {_fmt(tr)} | "
                      f"{_fmt(row.get('minimize_exact'))} | {_fmt(row['snmf'])} | {row['naive']:.5f} | {ratio} |",
                      flush=True)


def cmd_bounds(args):
    """Closed-form columns of (a) and the eigenvalues of E[y y^T] that make the bound."""
    print(f"||M||_F held at {frobenius_target():.4f}\n")
    print("| family | rank | eff. rank | bound one-hot | bound p=0.01 | naive | #eig(C) < 1/6 | "
          "n (1/12 - bound) = sum of (1/6 - eig) over the 50 smallest | same, independent-directions formula | "
          "50th smallest eig | kept odd energy ||Q^T M||^2 / (3n) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for fam in args.families.split(","):
        for r in [int(x) for x in args.ranks.split(",")]:
            m = rank_mixing(fam, r)
            t = cc.Task(m, 50, 0.01, one_hot=True)
            ev, vec = np.linalg.eigh(cc.bounds.second_moment(t))
            q = vec[:, 50:]  # the kept (top n_neurons) eigenvectors of E[y y^T]
            odd = np.sum((q.T @ m) ** 2) / (3 * 100)
            print(f"| {fam} | {r} | {cc.mixing.effective_rank(m):.1f} | {lower_bound(t).value:.5f} | "
                  f"{lower_bound(t.with_p(0.01)).value:.5f} | {naive_loss(t):.5f} | {int(np.sum(ev < 1 / 6 - 1e-12))} | "
                  f"{np.sum(1 / 6 - ev[:50]):.4f} | {_gain_formula(fam, r):.4f} | {ev[49]:.4f} | {odd:.4f} |")


def _gain_formula(family: str, rank: int, n: int = 100, d: int = 50) -> float:
    """sum over the discarded directions of 1/6 - eig(C), treating the rank directions as independent.

    flat: M = c U V^T with c = F / sqrt(r); for u orthogonal to v, X = M + M^T + 2 M M^T has eigenvalues
    c^2 +- sqrt(c^4 + c^2) on span(u, v), so each pair gives one direction with gain (sqrt(c^4 + c^2) - c^2)/6.
    psd: X = (2c + 2c^2) P >= 0, no gain. nsd: X = (2c^2 - 2c) P, gain (2c - 2c^2)/6 when c < 1.
    Valid while the r directions fit in the n - d discarded ones (r <= n - d) and, for flat, U^T V ~ 0.
    """
    c = frobenius_target() / np.sqrt(rank)
    if family == "flat":
        g = (np.sqrt(c**4 + c**2) - c**2) / 6.0
    elif family == "psd":
        g = 0.0
    else:
        g = max(0.0, (2 * c - 2 * c**2) / 6.0)
    return min(rank, n - d) * g


def _dense_fit(task, tol):
    r = dense_offset(task)
    e = _est(r.weights, task, tol)
    e.update(parameters=r.parameters, features=[int(i) for i in r.features], moment_estimate=r.objective,
             closed_form_loss=r.closed_form_loss, fit_evaluations=r.n_iter, offset=r.offset)
    return e


def _dense_mixing(kind):
    if kind == "embedding":
        return cc.mixing.embedding(100, 1000, seed=0)
    if kind == "random":
        return cc.mixing.random(100, 0.025, seed=0)
    return np.zeros((100, 100))


def _trained_other(kind, p, seed, cache):
    name = "clean" if kind == "clean" else "random0.025"
    path = os.path.join(cache, f"trained_{name}_p{p:g}_seed{seed}.npz")
    if os.path.exists(path):
        return cc.Weights.load(path)
    t = cc.Task(_dense_mixing(kind), 50, p)
    w = cc.train(t, seed=seed, progress=False).weights
    os.makedirs(cache, exist_ok=True)
    w.save(path, task=t.config(), seed=seed, steps=10_000, trainer="ccsolve.train defaults")
    return w


def cmd_dense(args):
    from mechanism_common import trained

    seeds = [int(s) for s in args.seeds.split(",")]
    kinds = ["embedding"] + (["random"] if args.random else []) + (["clean"] if args.clean else [])
    print(f"load average {os.getloadavg()[0]:.1f}\n")
    print("| M | p | subspace bound | trained mean ± SE (sd, seeds) | dense_offset (fitted gammas) | "
          "readout only (gammas 0, exact) | naive + offset (exact) | naive (exact) | dense_offset / trained | "
          "gamma_rep, gamma_unrep | offset |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for kind in kinds:
        m = _dense_mixing(kind)
        for p in [float(x) for x in args.ps.split(",")]:
            task = cc.Task(m, 50, p)
            vals, ses = [], []
            for s in (seeds if kind == "embedding" else seeds[:1]):
                if kind == "embedding":
                    def get(s=s, p=p, task=task):
                        return _est(trained("embedding", p, s, args.train_cache), task, args.tol)
                else:
                    def get(s=s, p=p, task=task, kind=kind):
                        return _est(_trained_other(kind, p, s, args.cache), task, args.tol)
                c = cached(args.cache, f"dense_trained_{kind}_p{p:g}_seed{s}", get)
                vals.append(c["value"])
                ses.append(c["se"])
            mean = float(np.mean(vals))
            se = float(np.sqrt(np.sum(np.square(ses)))) / len(vals)
            sd = f"sd {np.std(vals, ddof=1):.1e}, " if len(vals) > 1 else ""
            d = cached(args.cache, f"dense_offset_{kind}_p{p:g}", lambda task=task: _dense_fit(task, args.tol))
            nol = naive_offset_loss(task, optimal_offset(task))
            g = d["parameters"]
            print(f"| {kind} | {p:g} | {lower_bound(task).value:.5f} | {mean:.5f} ± {se:.1e} ({sd}{len(vals)}) | "
                  f"{_fmt(d)} | {d['closed_form_loss']:.5f} | {nol:.5f} | {naive_loss(task):.5f} | "
                  f"{d['value'] / mean:.3f} | {g['gamma_rep']:.3f}, {g['gamma_unrep']:.3f} | {d['offset']:.4f} |",
                  flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("rank", "dense", "bounds", "rank-light"))
    ap.add_argument("--families", default="flat,psd,nsd")
    ap.add_argument("--heavy", default="flat,psd,nsd", help="families that get minimize_exact and training")
    ap.add_argument("--ranks", default="1,5,20,50,100")
    ap.add_argument("--ps", default="0.2,0.5,1")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--tol", type=float, default=1e-5)
    ap.add_argument("--clean", action="store_true", help="dense: also M = 0 (one trained seed)")
    ap.add_argument("--random", action="store_true", help="dense: also random M, sigma 0.025 (one trained seed)")
    ap.add_argument("--cache", default=CACHE)
    ap.add_argument("--train-cache", default=os.environ.get("CCSOLVE_MECHANISM_CACHE", "/work/runs/mechanism"))
    args = ap.parse_args(argv)
    t0 = time.time()
    if args.what == "rank":
        cmd_rank(args)
    elif args.what == "rank-light":
        cmd_rank(args, heavy=False)
    elif args.what == "bounds":
        cmd_bounds(args)
    else:
        cmd_dense(args)
    print(f"\n{time.time() - t0:.0f} s, load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
