"""The reference's training algorithm in plain NumPy (dense batches, autograd-style backward, AdamW):
the baseline of benchmarks/bench_train.py and an independent check of `ccsolve.train` in tests."""

from __future__ import annotations

import math
import time

import numpy as np

from .. import __version__
from ..core.progress import progress_bar
from ..core.task import Task, sample_inputs
from ..core.weights import Weights
from .trainer import BLOCK, TrainResult, diverged_error, record_losses, prepare_training, cosine_lr

__all__ = ["train_dense_numpy"]


def train_dense_numpy(
    task: Task,
    steps: int = 10_000,
    batch_size: int = 2048,
    lr: float = 3e-3,
    weight_decay: float = 1e-2,
    betas=(0.9, 0.999),
    eps: float = 1e-8,
    seed=0,
    init: Weights | None = None,
    non_empty_steps: bool = False,
    progress: bool = True,
    record_every: int = 1,
) -> TrainResult:
    """The reference algorithm in plain NumPy: a baseline for benchmarks and an independent check.

    Row convention as the reference's PyTorch code: x (batch, n) dense from a numpy Generator,
    out = ReLU(x w_in) w_out, loss = mean((out - y)^2), backward written as autograd would run it,
    AdamW and the cosine schedule step by step. Same init as `train` for the same seed; different
    batches (its own random stream), so it agrees with `train` statistically, not bit for bit.
    """
    (task, steps, batch_size, lr, weight_decay, betas, eps, init, data_ss, progress, record_every,
     config) = prepare_training(task, steps, batch_size, lr, weight_decay, betas, eps, seed, init, non_empty_steps,
                      progress, record_every)
    gen = np.random.default_rng(data_ss)
    w_in, w_out = init.to_row_convention()
    m_t = np.ascontiguousarray(task.mixing.T)
    params = [w_in, w_out]
    exp_avg = [np.zeros_like(w) for w in params]
    exp_avg_sq = [np.zeros_like(w) for w in params]
    b1, b2 = betas
    lrs = cosine_lr(lr, steps)
    losses = np.empty(steps)
    n = task.n_features
    scale_loss = float(n) if task.one_hot else 1.0 / task.p  # MSE -> L/p
    t0 = time.perf_counter()
    with progress_bar(progress, steps, "train (dense numpy)", unit="step", mininterval=0.5) as bar:
        for t in range(steps):
            x = sample_inputs(task, batch_size, gen).T  # (batch, n)
            y = np.maximum(x, 0.0) + x @ m_t
            pre = x @ w_in
            h = np.maximum(pre, 0.0)
            out = h @ w_out
            diff = out - y
            loss = float(np.mean(diff * diff))
            losses[t] = loss * scale_loss
            if not np.isfinite(loss):
                raise diverged_error(t, lrs, lr, loss)
            d_out = diff * (2.0 / diff.size)
            g_out = h.T @ d_out
            d_h = d_out @ w_out.T
            d_h *= pre > 0.0
            g_in = x.T @ d_h
            lr_t = lrs[t]
            step = t + 1
            for w, g, m, s in zip(params, (g_in, g_out), exp_avg, exp_avg_sq):
                w *= 1.0 - lr_t * weight_decay
                m += (g - m) * (1.0 - b1)
                s *= b2
                s += (1.0 - b2) * g * g
                denom = np.sqrt(s) / math.sqrt(1.0 - b2**step) + eps
                w -= (lr_t / (1.0 - b1**step)) * (m / denom)
            if (t + 1) % BLOCK == 0 or t + 1 == steps:
                bar.update(t + 1 - bar.n)
    seconds = time.perf_counter() - t0
    config.update({"path": "dense_numpy", "learn_sigma": False, "ccsolve_version": __version__,
                   "seconds": seconds})
    return TrainResult(
        weights=Weights.from_row_convention(w_in, w_out),
        losses=record_losses(losses, record_every, "mean"),
        sigma=None,
        sigma_history=None,
        task=task,
        steps=steps,
        path="dense_numpy",
        seconds=seconds,
        config=config,
    )
