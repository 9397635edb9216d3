"""Training residual MLPs as spd trains its targets, with hand-written gradients.

Objective: spd's read-off MSE, mean over the batch (empty samples included) and the n outputs of
(y_hat - y)^2, y_hat = E^T r_L. Optimiser: AdamW as torch.optim.AdamW (weight decay 0.01 as spd's
train_resid_mlp.py hard-codes, betas (0.9, 0.999), eps 1e-8), learning rate on spd's half cosine
lr_t = lr (1 + cos(pi t / (T - 1))) / 2, t = 0..T-1 (get_scheduled_value, final_val_frac 0: the last
step has lr 0), fresh batches of 2048 every step. Init: nn.Linear's default, W_in[l] ~ U(+-1/sqrt(d_embed)),
W_out[l] ~ U(+-1/sqrt(d_mlp[l])), drawn layer by layer (in, then out) from `seed`; the embedding is the
task's (fixed, not trained: spd's fixed_random_embedding).

Speed: the batch is drawn by a Numba sampler that skips empty samples (they contribute nothing to a
bias-free model) and works in feature space (ccsolve.residual._model): per step only A = W_in E,
C = E^T W_out, B = W_in W_out and their gradients touch d_embed; the rest is (non-empty samples) x
(n or d_mlp) BLAS. `train_dense_numpy` is the plain residual-stream algorithm (what spd's torch code
computes) on the same batches: the baseline of benchmarks/residual_targets.py and an independent check.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field

import numpy as np

from ..core import validation as v
from ..core.blas import one_blas_thread
from ..core.progress import progress_bar
from ..core.results import Result
from . import _model
from .evaluation import binomial_cdf, exactly_cdf
from .task import PRESETS, ResidualTask, check_task
from .weights import ResidualWeights, check_weights

__all__ = ["ResidualTrainResult", "linear_default_init", "spd_cosine_lr", "train", "train_dense_numpy"]

BLOCK = 100  # steps between progress-bar updates


class TrainingDivergedError(FloatingPointError):
    """The training loss became NaN or infinite."""


@dataclass(frozen=True)
class ResidualTrainResult(Result):
    """Result of `train` / `train_dense_numpy`.

    weights   trained ResidualWeights
    losses    batch L/p per step (sum ||err||^2 / (batch_size * expected active features))
    task      the task trained on
    steps     optimiser steps
    path      "feature_space" (train) or "dense_numpy" (the baseline)
    seconds   wall time of the training loop (JIT compile excluded when cached)
    config    every setting, JSON-serialisable, with ccsolve's version
    """

    weights: ResidualWeights
    losses: np.ndarray
    task: ResidualTask
    steps: int
    path: str
    seconds: float
    config: dict = field(default_factory=dict)

    @property
    def final_loss(self) -> float:
        """Mean batch L/p over the last 5% of steps."""
        k = max(1, int(math.ceil(0.05 * self.losses.size)))
        return float(np.mean(self.losses[-k:]))

    @property
    def final_mse(self) -> float:
        """final_loss as spd's mean MSE (times expected active / n_features)."""
        return self.final_loss * self.task.expected_active / self.task.n_features

    def to_dict(self) -> dict:
        d = super().to_dict()
        d["weights"] = {"W_in": [a.tolist() for a in self.weights.W_in],
                        "W_out": [b.tolist() for b in self.weights.W_out]}
        d["task"] = self.task.config()
        d["final_loss"] = self.final_loss
        return d

    def __repr__(self):
        return (f"ResidualTrainResult(steps={self.steps}, path={self.path!r}, final_loss={self.final_loss:.5g}, "
                f"seconds={self.seconds:.3g})")


def spd_cosine_lr(lr: float, steps: int) -> np.ndarray:
    """spd's cosine schedule to 0: lr (1 + cos(pi t / (steps - 1))) / 2; constant lr for steps = 1."""
    if steps <= 1:
        return np.full(steps, float(lr))
    t = np.arange(steps, dtype=np.float64)
    return lr * 0.5 * (1.0 + np.cos(np.pi * t / (steps - 1)))


def linear_default_init(task: ResidualTask, seed=0) -> ResidualWeights:
    """torch nn.Linear's default init (kaiming_uniform_, a = sqrt(5)): U(+-1/sqrt(fan_in))."""
    task = check_task(task)
    gen = v.rng(seed)
    w_in, w_out = [], []
    for d in task.d_mlp:
        b_in = 1.0 / math.sqrt(task.d_embed)
        w_in.append(gen.uniform(-b_in, b_in, (d, task.d_embed)))
        b_out = 1.0 / math.sqrt(d)
        w_out.append(gen.uniform(-b_out, b_out, (task.d_embed, d)))
    return ResidualWeights(w_in, w_out)


def _setup(task, steps, batch_size, lr, weight_decay, seed, init, progress):
    task = check_task(task)
    if steps is None:
        if task.name is None:
            raise ValueError("steps=None uses the preset's steps, but the task has no preset name; pass steps")
        steps = PRESETS[task.name]["steps"]
    steps = v.positive_int("steps", steps)
    batch_size = v.positive_int("batch_size", batch_size)
    lr = v.positive("lr", lr)
    weight_decay = v.non_negative("weight_decay", weight_decay)
    progress = v.boolean("progress", progress)
    ss = v.seed_sequence(seed)
    init_ss, data_ss = ss.spawn(2)
    if init is None:
        init = linear_default_init(task, np.random.default_rng(init_ss))
        init_kind = "nn.Linear default"
    else:
        init = check_weights(init, task)
        init_kind = "given"
    n = task.n_features
    cdf = binomial_cdf(n, task.p) if task.n_active is None else exactly_cdf(n, task.n_active)
    seeds = data_ss.generate_state(steps, dtype=np.uint64)
    from .. import __version__

    config = {"steps": steps, "batch_size": batch_size, "lr": lr, "weight_decay": weight_decay,
              "betas": [0.9, 0.999], "eps": 1e-8, "schedule": "spd cosine to 0", "optimizer": "AdamW",
              "loss": "read-off mse", "init": init_kind,
              "seed": seed if (seed is None or isinstance(seed, numbers.Integral)) else type(seed).__name__,
              "task": task.config(), "ccsolve_version": __version__}
    return task, steps, batch_size, lr, weight_decay, init, cdf, seeds, progress, config


def feature_space_gradients(x, base, w_in, w_out, emb, batch_size):
    """(sum ||err||^2, dW_in, dW_out) of mean-MSE over a batch of batch_size samples whose non-empty
    rows are x (m, n) with base = X G - Y."""
    a, b, c = _model.products(w_in, w_out, emb)
    zs, hs, err = _model.forward(x, base, a, b, c)
    sq = float(np.sum(err * err))
    derr = err * (2.0 / (batch_size * x.shape[1]))
    da, db, dc = _model.backward(x, zs, hs, derr, a, b, c)
    g_in, g_out = _model.to_residual_gradients(da, db, dc, w_in, w_out, emb)
    return sq, g_in, g_out


def dense_gradients(x_full, y_full, w_in, w_out, emb):
    """(sum ||err||^2, dW_in, dW_out) of mean-MSE over a dense batch x_full (B, n), labels y_full,
    computed in the d_embed-wide residual stream as autograd would (spd's forward, row convention)."""
    resid = [x_full @ emb.T]
    pres, hids = [], []
    for a, b in zip(w_in, w_out):
        pre = resid[-1] @ a.T
        h = np.maximum(pre, 0.0)
        pres.append(pre)
        hids.append(h)
        resid.append(resid[-1] + h @ b.T)
    out = resid[-1] @ emb
    diff = out - y_full
    sq = float(np.sum(diff * diff))
    d_out = diff * (2.0 / diff.size)
    d_res = d_out @ emb.T
    g_in = [None] * len(w_in)
    g_out = [None] * len(w_in)
    for l in range(len(w_in) - 1, -1, -1):
        g_out[l] = d_res.T @ hids[l]
        d_h = d_res @ w_out[l]
        d_h[pres[l] <= 0.0] = 0.0
        g_in[l] = d_h.T @ resid[l]
        d_res = d_res + d_h @ w_in[l]
    return sq, g_in, g_out


def _loop(task, steps, batch_size, lr, weight_decay, init, cdf, seeds, progress, config, dense, desc):
    from .._kernels import residual as k

    n = task.n_features
    emb = np.ascontiguousarray(task.embedding)
    gram = np.ascontiguousarray(task.gram)
    lpos, lneg = task.label_slopes
    params = [np.array(w) for w in init.W_in] + [np.array(w) for w in init.W_out]
    n_layers = task.n_layers
    m1 = [np.zeros_like(w) for w in params]
    m2 = [np.zeros_like(w) for w in params]
    lrs = spd_cosine_lr(lr, steps)
    losses = np.empty(steps)
    x = np.empty((batch_size, n))
    base = np.empty((batch_size, n))
    mark = np.zeros(n, dtype=np.bool_)
    scale = 1.0 / (batch_size * task.expected_active)
    t0 = time.perf_counter()
    with progress_bar(progress, steps, desc, unit="step") as bar:
        for t in range(steps):
            m = k.draw_rows(n, cdf, seeds[t], batch_size, gram, lpos, lneg, x, base, mark)
            w_in, w_out = params[:n_layers], params[n_layers:]
            if dense:
                xf = np.zeros((batch_size, n))  # the batch as spd holds it: empty samples included
                xf[:m] = x[:m]
                sq, g_in, g_out = dense_gradients(xf, task.labels(xf.T).T, w_in, w_out, emb)
            else:
                sq, g_in, g_out = feature_space_gradients(x[:m], base[:m], w_in, w_out, emb, batch_size)
            losses[t] = sq * scale
            if not np.isfinite(sq):
                raise TrainingDivergedError(f"training diverged at step {t} of {steps} (loss {sq}); try a smaller lr")
            for w, g, a, b in zip(params, g_in + g_out, m1, m2):
                k.adamw(w, np.ascontiguousarray(g), a, b, lrs[t], weight_decay, 0.9, 0.999, 1e-8, t + 1)
            if (t + 1) % BLOCK == 0 or t + 1 == steps:
                bar.update(t + 1 - bar.n)
                bar.set_postfix(loss=f"{losses[t]:.4g}", refresh=False)
    seconds = time.perf_counter() - t0
    config = dict(config, seconds=seconds, path="dense_numpy" if dense else "feature_space")
    return ResidualTrainResult(ResidualWeights(params[:n_layers], params[n_layers:]), losses, task, steps,
                               config["path"], seconds, config)


@one_blas_thread
def train(task: ResidualTask, steps: int | None = None, batch_size: int = 2048, lr: float = 3e-3,
          weight_decay: float = 1e-2, seed=0, init: ResidualWeights | None = None,
          progress: bool = True) -> ResidualTrainResult:
    """Train a residual MLP on `task` as spd trains its targets (module doc).

    steps         optimiser steps; None: the preset's (task from ResidualTask.from_preset)
    batch_size    samples per step, empty ones included
    lr            base learning rate (cosine to 0); weight_decay: AdamW's (spd: 0.01)
    seed          int, SeedSequence, numpy Generator or None: the init and every batch
    init          ResidualWeights to start from (fresh optimiser and schedule)
    progress      tqdm progress bar
    BLAS runs on one thread (reproducible at any thread setting).
    """
    args = _setup(task, steps, batch_size, lr, weight_decay, seed, init, progress)
    return _loop(*args, dense=False, desc="train residual")


def train_dense_numpy(task: ResidualTask, steps: int | None = None, batch_size: int = 2048, lr: float = 3e-3,
                      weight_decay: float = 1e-2, seed=0, init: ResidualWeights | None = None,
                      progress: bool = True) -> ResidualTrainResult:
    """The baseline: same init and batches as `train`, gradients computed densely in the d_embed-wide
    residual stream (empty samples included) with the caller's BLAS settings. Agrees with `train` to
    rounding; much slower."""
    args = _setup(task, steps, batch_size, lr, weight_decay, seed, init, progress)
    return _loop(*args, dense=True, desc="train residual (dense numpy)")
