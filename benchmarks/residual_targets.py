"""Train spd's three residual-MLP targets (resid_mlp1/2/3) with ccsolve.residual.train from their
configs alone, several seeds, and time the trainer against the dense NumPy baseline in the same run.

For each preset and seed s: ResidualTask.from_preset(name, seed=s) (embedding from s) and
train(task, seed=s) with the preset's steps (1,000 / 1,000 / 10,000), batch 2048, AdamW lr 3e-3,
weight decay 0.01, spd's cosine to 0. Reported: the final L/p of the trained weights (stratified
estimator: one-active stratum exact, 2^20 samples of >= 2 active; its SE), the training loss of the
last 5% of steps, the exact one-hot L/p, and the wall time. Published: spd PR #95's final mean MSE / p.

Timing table: ms per step of train and train_dense_numpy (same init and batches; the baseline runs
the residual stream densely, empty samples included, as spd's torch loop does on a CPU), best of
--repeats interleaved runs of --time-steps steps after a warm-up; BLAS limited to one thread.

Run:  nice -n 10 python benchmarks/residual_targets.py [--seeds 0 1 2 3 4] [--presets resid_mlp1 ...]
                                                        [--time-steps 20] [--repeats 2] [--out FILE]
"""

from __future__ import annotations

import argparse
import os

if __name__ == "__main__":
    _ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    _ap.add_argument("--presets", nargs="+", default=["resid_mlp1", "resid_mlp2", "resid_mlp3"])
    _ap.add_argument("--time-steps", type=int, default=20)
    _ap.add_argument("--repeats", type=int, default=2)
    _ap.add_argument("--eval-samples", type=int, default=1 << 20)
    _ap.add_argument("--out", default="benchmarks/results/residual_targets.json")
    ARGS = _ap.parse_args()
    for _k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_k] = "1"

import datetime

import numpy as np
from ccsolve._io import atomic_write_json

import ccsolve
import ccsolve.residual as R


def _load():
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def timing(name, steps, repeats):
    task = R.ResidualTask.from_preset(name, seed=0)
    R.train(task, steps=3, progress=False)  # JIT warm-up
    R.train_dense_numpy(task, steps=2, progress=False)
    fast, dense = [], []
    for _ in range(repeats):
        fast.append(R.train(task, steps=steps, progress=False).seconds / steps)
        dense.append(R.train_dense_numpy(task, steps=steps, progress=False).seconds / steps)
    return {"preset": name, "steps": steps, "repeats": repeats, "ms_per_step_train": 1e3 * min(fast),
            "ms_per_step_dense_numpy": 1e3 * min(dense), "ratio": min(dense) / min(fast), "load_avg": _load()}


def main():
    rows, times = [], []
    for name in ARGS.presets:
        t = timing(name, ARGS.time_steps, ARGS.repeats)
        times.append(t)
        print(f"[time] {name}: train {t['ms_per_step_train']:.2f} ms/step, dense numpy "
              f"{t['ms_per_step_dense_numpy']:.1f} ms/step, ratio {t['ratio']:.1f}x (load {t['load_avg']:.2f})",
              flush=True)
    for name in ARGS.presets:
        pub = R.PRESETS[name]["published_mse"] / 0.01
        for s in ARGS.seeds:
            task = R.ResidualTask.from_preset(name, seed=s)
            res = R.train(task, seed=s, progress=False)
            est = R.loss_per_feature(res.weights, task, method="stratified", n_samples=ARGS.eval_samples, seed=1000 + s)
            row = {"preset": name, "seed": s, "steps": res.steps, "L_over_p": est.value, "stderr": est.stderr,
                   "train_loss_last5pct": res.final_loss, "one_hot": R.one_hot_loss(res.weights, task.as_one_hot()),
                   "seconds": res.seconds, "published_L_over_p": pub, "load_avg": _load()}
            rows.append(row)
            print(f"{name} seed {s}: L/p {est.value:.5f} +- {est.stderr:.5f} (train {res.final_loss:.5f}, "
                  f"one-hot {row['one_hot']:.5f}), {res.seconds:.1f} s, published {pub:.4f} "
                  f"(load {row['load_avg']:.2f})", flush=True)
    summary = {}
    for name in ARGS.presets:
        vals = np.array([r["L_over_p"] for r in rows if r["preset"] == name])
        summary[name] = {"mean": float(vals.mean()), "std": float(vals.std(ddof=1)) if vals.size > 1 else 0.0,
                         "min": float(vals.min()), "max": float(vals.max()), "n_seeds": int(vals.size),
                         "published": R.PRESETS[name]["published_mse"] / 0.01}
        print(f"{name}: mean {vals.mean():.5f} over {vals.size} seeds, range {vals.min():.5f}-{vals.max():.5f}, "
              f"published {summary[name]['published']:.4f}")
    atomic_write_json(ARGS.out, {
        "config": vars(ARGS), "ccsolve_version": ccsolve.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(), "timing": times, "runs": rows,
        "summary": summary})


if __name__ == "__main__":
    main()
