"""A gradient trainer that reproduces the reference's training, without autograd.

`train(task, ...)` minimises the batch mean squared error (the reference's MSE: mean over samples,
empty ones included, and over the n outputs) of y_hat = W_out ReLU(W_in x) against
y = ReLU(x) + M x with:
  - AdamW exactly as torch.optim.AdamW (decoupled weight decay p <- p (1 - lr wd) before the Adam
    step, bias-corrected moments, eps added to sqrt(v_hat));
  - the learning rate on a half cosine, lr_t = lr (1 + cos(pi t / T)) / 2 for steps t = 0..T-1
    (torch CosineAnnealingLR with T_max = T, eta_min = 0, stepped once per step);
  - PyTorch kaiming_uniform_ initial weights: in the reference's row convention w_in (n, d) is
    U(+-sqrt(6/d)) and w_out (d, n) is U(+-sqrt(6/n)) (fan_in = the tensor's second dimension),
    so here W_in = w_in^T and W_out = w_out^T;
  - fresh Bernoulli(p) (or one-hot) batches every step, drawn from `seed`.

Gradients are hand-written (docs/math.md, "Training gradients"). Two paths give the same result on
the same batches (they draw identical data from the seed):
  "sparse"  Numba kernels that touch only the active entries of each sample, with the Gram trick
            (W_out^T W_out and G^T W_out once per step) and one-feature samples aggregated per
            feature: no step costs n_features x n_neurons per sample. Fast at small p.
  "dense"   the batch as a dense (batch, n) array and BLAS products. Fast at large p.
path="auto" takes "sparse" for one-hot tasks and p < DENSE_P, else "dense".

Reproducibility: one seed gives the init and every batch; each batch is cut into chunks of fixed
size with their own SplitMix64 streams and sums added in chunk order, so the weights do not depend
on the number of Numba threads.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import time
from dataclasses import dataclass, field

import numpy as np

from ..core import validation as v
from ..core.results import Result
from ..core.blas import one_blas_thread
from ..core.task import Task, check_task
from ..core.progress import progress_bar
from ..core.weights import Weights, check_weights, kaiming_uniform_init

__all__ = ["TrainResult", "TrainingDivergedError", "train", "cosine_lr", "kaiming_uniform_init"]

CHUNK = 1024  # samples per chunk: the unit of parallel work and of seeding (fixed: determinism)
DENSE_P = 0.5  # path="auto": dense BLAS batches from this p on (docs/benchmarks.md, "## Trainer")
BLOCK = 250  # steps per kernel call between progress-bar updates
MAX_BATCH = 1 << 24  # batch_size limit: one step's samples (the dense path holds a batch in memory)
MAX_TRAIN_SAMPLES = 10**10  # steps * batch_size limit: hours at the measured speed (and 80 MB of seeds)
DIVERGED_FACTOR = 1e8  # a batch loss this many times the first step's (or the zero model's) is divergence


def _threads(threads) -> int:
    import os

    import numba

    top = numba.config.NUMBA_NUM_THREADS
    if threads is None:
        try:
            busy = os.getloadavg()[0] > (os.cpu_count() or 1) + 0.5
        except (AttributeError, OSError):
            busy = False
        return 1 if busy else numba.get_num_threads()
    threads = v.positive_int("threads", threads)
    if threads > top:
        raise ValueError(f"threads must be <= {top} (numba.config.NUMBA_NUM_THREADS), got {threads}")
    return threads


@contextlib.contextmanager
def _numba_threads(threads: int):
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(before)


class TrainingDivergedError(FloatingPointError):
    """The training loss or the weights became NaN or infinite."""


@dataclass(frozen=True)
class TrainResult(Result):
    """Result of `train`.

    weights        the trained ccsolve.Weights (column convention)
    losses         training L/p of the batches, shape (ceil(steps / record_every),): entry k is the mean
                   over steps k*record_every .. (k+1)*record_every - 1 (per step with record_every=1).
                   L/p of a batch = sum_s ||y_hat_s - y_s||^2 / (batch_size * n_features * p);
                   one-hot tasks: divided by batch_size only
    sigma          learned mixing scale (learn_sigma=True), else None
    sigma_history  sigma after the last step of each record window (learn_sigma=True), else None
    task           the task trained on; with learn_sigma its mixing is sigma * mixing_base
    steps          optimiser steps taken (after non_empty_steps scaling)
    path           "sparse", "dense" or "dense_numpy" (the baseline)
    seconds        wall time of the training loop (JIT compilation excluded when cached)
    config         every setting, JSON-serialisable, with ccsolve's version
    """

    weights: Weights
    losses: np.ndarray
    sigma: float | None
    sigma_history: np.ndarray | None
    task: Task
    steps: int
    path: str
    seconds: float
    config: dict = field(default_factory=dict)

    @property
    def final_loss(self) -> float:
        """Mean training L/p over the last 5% of the steps (at least one record)."""
        k = max(1, int(math.ceil(0.05 * self.losses.size)))
        return float(np.mean(self.losses[-k:]))

    def __repr__(self):
        s = f", sigma={self.sigma:.4g}" if self.sigma is not None else ""
        return (f"TrainResult(steps={self.steps}, path={self.path!r}, final_loss={self.final_loss:.5g}{s}, "
                f"seconds={self.seconds:.3g})")


def cosine_lr(lr: float, steps: int) -> np.ndarray:
    """lr_t = lr (1 + cos(pi t / steps)) / 2, t = 0..steps-1 (CosineAnnealingLR, T_max=steps)."""
    t = np.arange(steps, dtype=np.float64)
    return lr * (1.0 + np.cos(np.pi * t / steps)) / 2.0


def _check_betas(betas) -> tuple[float, float]:
    try:
        b1, b2 = betas
    except (TypeError, ValueError):
        raise TypeError(f"betas must be a pair of numbers in [0, 1), got {betas!r}") from None
    out = []
    for i, b in enumerate((b1, b2)):
        b = v.real(f"betas[{i}]", b)
        if not 0.0 <= b < 1.0:
            raise ValueError(f"betas[{i}] must be in [0, 1), got {b}")
        out.append(b)
    return out[0], out[1]


def _seed_config(seed):
    if seed is None or isinstance(seed, numbers.Integral):
        return seed
    return type(seed).__name__


def prepare_training(task, steps, batch_size, lr, weight_decay, betas, eps, seed, init, non_empty_steps, progress,
           record_every):
    task = check_task(task)
    steps = v.positive_int("steps", steps)
    batch_size = v.sample_count("batch_size", batch_size, limit=MAX_BATCH)
    v.sample_count("steps * batch_size", steps * batch_size, limit=MAX_TRAIN_SAMPLES)
    lr = v.positive("lr", lr)
    weight_decay = v.non_negative("weight_decay", weight_decay)
    betas = _check_betas(betas)
    eps = v.positive("eps", eps)
    ss = v.seed_sequence(seed)
    if init is not None:
        init = check_weights(init, task.n_features)
        if init.n_neurons != task.n_neurons:
            raise ValueError(f"init has n_neurons={init.n_neurons} but the task has n_neurons={task.n_neurons}")
    non_empty_steps = v.boolean("non_empty_steps", non_empty_steps)
    progress = v.boolean("progress", progress)
    record_every = v.positive_int("record_every", record_every)
    requested = steps
    if non_empty_steps and not task.one_hot:
        frac = -math.expm1(task.n_features * math.log1p(-task.p)) if task.p < 1.0 else 1.0
        steps = max(1, int(round(steps / frac)))
    init_ss, data_ss = ss.spawn(2)
    if init is None:
        init = kaiming_uniform_init(task.n_features, task.n_neurons, np.random.default_rng(init_ss))
        init_kind = "kaiming_uniform"
    else:
        init_kind = "given"
    config = {
        "steps": steps, "steps_requested": requested, "batch_size": batch_size, "lr": lr,
        "weight_decay": weight_decay, "betas": list(betas), "eps": eps, "seed": _seed_config(seed),
        "init": init_kind, "non_empty_steps": non_empty_steps, "record_every": record_every,
        "schedule": "cosine", "optimizer": "AdamW", "loss": "mse", "task": task.config(),
    }
    return task, steps, batch_size, lr, weight_decay, betas, eps, init, data_ss, progress, record_every, config


def _chunk_layout(batch_size: int) -> np.ndarray:
    n_chunks = -(-batch_size // CHUNK)
    sizes = np.full(n_chunks, CHUNK, dtype=np.int64)
    sizes[-1] = batch_size - CHUNK * (n_chunks - 1)
    return sizes


def record_losses(values: np.ndarray, every: int, how: str) -> np.ndarray:
    if every == 1:
        return values.copy()
    k = -(-values.size // every)
    pad = np.full(k * every, np.nan)
    pad[: values.size] = values
    pad = pad.reshape(k, every)
    if how == "mean":
        return np.nanmean(pad, axis=1)
    idx = np.minimum(np.arange(1, k + 1) * every, values.size) - 1
    return values[idx].copy()


def _zero_loss(task) -> float:
    from ..evaluation.closed_forms import zero_loss

    return zero_loss(task)


def diverged_error(step, lrs, lr, loss):
    return TrainingDivergedError(
        f"training diverged at step {step} (0-based) of {lrs.size}: the batch loss is {loss} "
        f"(learning rate at that step {lrs[min(step, lrs.size - 1)]:.3g}, base lr={lr:g}); "
        "try a smaller lr"
    )


@one_blas_thread
def train(
    task: Task,
    steps: int = 10_000,
    batch_size: int = 2048,
    lr: float = 3e-3,
    weight_decay: float = 1e-2,
    betas=(0.9, 0.999),
    eps: float = 1e-8,
    seed=0,
    init: Weights | None = None,
    learn_sigma: bool = False,
    sigma_init: float = 0.01,
    mixing_base=None,
    non_empty_steps: bool = False,
    progress: bool = True,
    record_every: int = 1,
    path: str = "auto",
    threads: int | None = None,
) -> TrainResult:
    """Train the CC model on `task` as the reference did (AdamW, half-cosine lr, fresh batches).

    task            ccsolve.Task (Bernoulli inputs at task.p, or one-hot if task.one_hot)
    steps           optimiser steps (with non_empty_steps, divided by 1 - (1 - p)^n_features)
    batch_size      samples per step, empty ones included
    lr, weight_decay, betas, eps   torch.optim.AdamW settings; lr decays on a half cosine to 0
    seed            int, SeedSequence, numpy Generator or None: the init and every batch
    init            Weights to start from (fresh optimiser and schedule), else kaiming_uniform_ init
    learn_sigma     train the mixing scale too: labels use M = sigma * G with G = mixing_base, by
                    default task.mixing divided by its rms entry sqrt(mean(M^2)) (so sigma is the rms
                    entry of the learned M; for M = s * N(0,1) entries, sigma ~ s). sigma starts at
                    sigma_init and is one more AdamW parameter, weight decay included, as in the
                    reference (one optimiser for all parameters). Any mixing works (random, symmetric,
                    low_rank, embedding, a loaded reference M). mixing_base="task" uses task.mixing
                    itself (sigma is then a multiplier: the reference's |scale| when task.mixing is its
                    unscaled M, e.g. W_E W_E^T - I of ResidTransposeDataset with sigma_init=1). Unlike
                    the reference's |scale|, sigma is signed: it is the same while it stays > 0, and
                    sigma < 0 flips M instead of reflecting (docs/from_reference.md).
    progress        tqdm progress bar
    record_every    losses / sigma_history resolution in steps (means over windows)
    path            "auto", "sparse" or "dense" (same results, different speed)
    threads         Numba threads of the sparse path (chunks of 1024 samples, then blocks of features, run
                    in parallel). None: all of Numba's threads, or 1 when the 1-minute load average already
                    exceeds the CPU count + 0.5 (no core to gain; with OpenMP threads that spin long between
                    regions, steps were ~3-10x slower). The weights do not depend on it.

    Raises TrainingDivergedError (a FloatingPointError) naming the step and the learning rate if the
    loss becomes NaN or infinite.
    """
    (task, steps, batch_size, lr, weight_decay, betas, eps, init, data_ss, progress, record_every,
     config) = prepare_training(task, steps, batch_size, lr, weight_decay, betas, eps, seed, init, non_empty_steps,
                      progress, record_every)
    learn_sigma = v.boolean("learn_sigma", learn_sigma)
    v.choice("path", path, {"auto", "sparse", "dense"})
    threads = _threads(threads)
    n, d = task.n_features, task.n_neurons
    # checked even when unused; any sign (a negative sigma flips mixing_base: tests/test_train.py uses -0.5)
    sigma_init = v.bounded("sigma_init", v.real("sigma_init", sigma_init), v.MAX_ABS / 100,
                           "sigma * mixing_base must stay <= ccsolve.core.validation.MAX_ABS")
    if learn_sigma:
        sigma0 = sigma_init
        if isinstance(mixing_base, str):
            v.choice("mixing_base", mixing_base, {"task"})
            if not np.any(task.mixing != 0.0):
                raise ValueError("mixing_base='task' needs a non-zero task.mixing")
            gmat = np.array(task.mixing, dtype=np.float64)
        elif mixing_base is None:
            rms = float(np.sqrt(np.mean(task.mixing**2)))
            if rms == 0.0:
                raise ValueError("learn_sigma=True needs a non-zero mixing direction: the task's mixing is 0; "
                                 "pass mixing_base")
            gmat = task.mixing / rms
        else:
            gmat = v.as_matrix("mixing_base", mixing_base, shape=(n, n))
        has_g = bool(np.any(gmat != 0.0))
    else:
        if mixing_base is not None:
            raise ValueError("mixing_base is only used with learn_sigma=True")
        sigma0 = 1.0
        gmat = np.array(task.mixing, dtype=np.float64)
        has_g = bool(np.any(gmat != 0.0))
    if path == "auto":
        path = "sparse" if (task.one_hot or task.p < DENSE_P) else "dense"
    sizes = _chunk_layout(batch_size)
    config.update({"learn_sigma": learn_sigma, "sigma_init": sigma0 if learn_sigma else None,
                   "mixing_base": mixing_base if isinstance(mixing_base, str) else "given" if mixing_base is not None else ("task.mixing / rms" if learn_sigma
                                                                           else None),
                   "path": path, "chunk": CHUNK, "n_chunks": int(sizes.size), "threads": threads})
    from .. import __version__

    config["ccsolve_version"] = __version__

    lrs = cosine_lr(lr, steps)
    seeds = data_ss.generate_state(steps * sizes.size, dtype=np.uint64).reshape(steps, sizes.size)
    state = _State(init, sigma0, n, d)
    gmat = np.ascontiguousarray(gmat)
    gmat_t = np.ascontiguousarray(gmat.T)
    gtg = gmat.T @ gmat
    gtg_diag = np.ascontiguousarray(np.diag(gtg))
    from .._kernels import train as k

    p = 1.0 if task.one_hot else task.p
    cdf = k.binomial_cdf(n, p)
    scale_loss = 1.0 / batch_size if task.one_hot else 1.0 / (batch_size * n * task.p)
    losses = np.empty(steps)
    sigmas = np.empty(steps)
    opt = (weight_decay, betas[0], betas[1], eps)
    work = k.Work(n, d, sizes)

    if path == "sparse":
        # a first run compiles the kernel (about 15 s of one core): its own stage, shown only then, so that
        # the training bar does not sit frozen at 0 with a bogus ETA (loaded from the cache: silent, < 0.1 s);
        # always through warm-up, which compiles it at its LLVM level (warmup.OPT_LEVEL)
        from ..warmup import warm

        warm(["sparse_block"], progress=progress)
    t0 = time.perf_counter()
    # BLAS on one thread: @one_blas_thread (ccsolve._blas)
    with _numba_threads(threads), progress_bar(progress, steps, "train", unit="step", mininterval=0.5) as bar:
        done = 0
        while done < steps:
            stop = min(steps, done + BLOCK)
            if path == "sparse":
                got = k.sparse_block(state.wt, state.wo, state.sig, state.m_wt, state.v_wt, state.m_wo,
                                     state.v_wo, state.m_sig, state.v_sig, gmat, gmat_t, gtg, gtg_diag, has_g,
                                     learn_sigma, p, cdf, task.one_hot, seeds[done:stop], lrs[done:stop],
                                     done, *opt, scale_loss, losses[done:stop], sigmas[done:stop],
                                     *work.args())
            else:
                got = _dense_block(state, gmat, gmat_t, has_g, learn_sigma, p, cdf, task.one_hot, work,
                                   seeds[done:stop], lrs[done:stop], done, opt, scale_loss,
                                   losses[done:stop], sigmas[done:stop])
            if got < stop - done:
                raise diverged_error(done + got, lrs, lr, losses[done + got])
            if done == 0:
                ceiling = DIVERGED_FACTOR * max(float(losses[0]), _zero_loss(task), 1e-300)
            big = np.flatnonzero(losses[done:stop] > ceiling)
            if big.size:  # finite but exploding (a too large lr): report the first such step
                raise diverged_error(done + int(big[0]), lrs, lr, f"{losses[done + big[0]]:.3g}, more than "
                                     f"{DIVERGED_FACTOR:g} times the first step's or the zero model's")
            if not state.finite():
                raise diverged_error(stop - 1, lrs, lr, "finite but the weights overflowed")
            done = stop
            bar.update(stop - bar.n)
            bar.set_postfix(loss=f"{losses[stop - 1]:.4g}", refresh=False)
    seconds = time.perf_counter() - t0

    weights = Weights(state.wt.T, state.wo)
    sigma = float(state.sig[0]) if learn_sigma else None
    trained_task = Task(sigma * gmat, d, task.p, one_hot=task.one_hot) if learn_sigma else task
    config["seconds"] = seconds
    return TrainResult(
        weights=weights,
        losses=record_losses(losses, record_every, "mean"),
        sigma=sigma,
        sigma_history=record_losses(sigmas, record_every, "last") if learn_sigma else None,
        task=trained_task,
        steps=steps,
        path=path,
        seconds=seconds,
        config=config,
    )


class _State:
    """Parameters (wt = W_in^T, wo = W_out, sig) and AdamW moments, C-contiguous, updated in place."""

    def __init__(self, init: Weights, sigma0: float, n: int, d: int):
        self.wt = np.ascontiguousarray(init.W_in.T, dtype=np.float64).copy()
        self.wo = np.ascontiguousarray(init.W_out, dtype=np.float64).copy()
        self.sig = np.array([sigma0], dtype=np.float64)
        self.m_wt = np.zeros((n, d))
        self.v_wt = np.zeros((n, d))
        self.m_wo = np.zeros((n, d))
        self.v_wo = np.zeros((n, d))
        self.m_sig = np.zeros(1)
        self.v_sig = np.zeros(1)

    def finite(self) -> bool:
        return bool(np.isfinite(self.wt).all() and np.isfinite(self.wo).all() and np.isfinite(self.sig).all())


def dense_gradients(xr, wt, wo, sigma, gmat_t, has_g):
    """Sums over the batch xr (batch, n) for the dense path, in the kernels' conventions:
    (sum ||e||^2, gwt = sum x (W_out^T e|_{h>0})^T  (n, d), gwo = sum e h^T  (n, d), sum e^T G x)."""
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported by the caller
        return _dense_gradients(xr, wt, wo, sigma, gmat_t, has_g)


def _dense_gradients(xr, wt, wo, sigma, gmat_t, has_g):
    pre = xr @ wt
    hr = np.maximum(pre, 0.0)
    er = hr @ wo.T
    er -= np.maximum(xr, 0.0)
    if has_g:
        gx = xr @ gmat_t
        er -= sigma * gx
    loss = float(np.sum(er * er))
    gwo = er.T @ hr
    gh = er @ wo
    gh[pre <= 0.0] = 0.0
    gwt = xr.T @ gh
    dsig = float(np.sum(er * gx)) if has_g else 0.0
    return loss, gwt, gwo, dsig


def _dense_block(state, gmat, gmat_t, has_g, learn, p, cdf, one_hot, work, seeds, lrs, step0, opt, scale_loss,
                 losses, sigmas):
    from .._kernels import train as k

    wd, b1, b2, eps = opt
    sizes = work.sizes
    starts = np.concatenate([[0], np.cumsum(sizes)])
    batch = int(starts[-1])
    n = state.wt.shape[0]
    xr = np.empty((batch, n))
    grad_scale = 2.0 / (batch * n)
    gsig = np.empty(1)
    for t in range(lrs.size):
        for c in range(sizes.size):  # the sparse path's batch, chunk by chunk
            k.draw_batch(p, cdf, one_hot, n, sizes[c:c + 1], seeds[t, c:c + 1], work.indptr[c], work.indices[c],
                         work.values[c], work.marks[c])
            k.csr_to_dense(work.indptr[c, : sizes[c] + 1], work.indices[c], work.values[c],
                           xr[starts[c]:starts[c + 1]])
        loss, gwt, gwo, dsig = dense_gradients(xr, state.wt, state.wo, state.sig[0], gmat_t, has_g)
        losses[t] = loss * scale_loss
        if not np.isfinite(loss):
            return t
        gwt *= grad_scale
        gwo *= grad_scale
        step = step0 + t + 1
        k.adamw(state.wt, gwt, state.m_wt, state.v_wt, lrs[t], wd, b1, b2, eps, step)
        k.adamw(state.wo, gwo, state.m_wo, state.v_wo, lrs[t], wd, b1, b2, eps, step)
        if learn:
            gsig[0] = -grad_scale * dsig
            # (1, 1) views: adamw's one (2-d) signature
            k.adamw(state.sig.reshape(1, 1), gsig.reshape(1, 1), state.m_sig.reshape(1, 1),
                    state.v_sig.reshape(1, 1), lrs[t], wd, b1, b2, eps, step)
        sigmas[t] = state.sig[0]
    return lrs.size


def sparse_gradients(xr, wt, wo, sigma, gmat, has_g):
    """The sparse kernel's sums over the batch xr (batch, n), same conventions as dense_gradients
    (the batch is cut into chunks of CHUNK samples as in training)."""
    from .._kernels import train as k

    xr = np.ascontiguousarray(xr, dtype=np.float64)
    batch, n = xr.shape
    d = wt.shape[1]
    sizes = _chunk_layout(batch)
    work = k.Work(n, d, sizes)
    start = 0
    for c, size in enumerate(sizes):
        block = xr[start:start + size]
        nz = block != 0.0
        work.indptr[c, : size + 1] = np.concatenate([[0], np.cumsum(nz.sum(axis=1))])
        rows, cols = np.nonzero(nz)
        work.indices[c, : cols.size] = cols
        work.values[c, : cols.size] = block[rows, cols]
        start += size
    # writeable C-contiguous copies: a read-only array (e.g. a Weights field) is another Numba signature,
    # a second full compile of batch_gradient and output_gradient (issue 17)
    gmat = np.array(gmat, dtype=np.float64, order="C")
    wo = np.array(wo, dtype=np.float64, order="C")
    wt = np.array(wt, dtype=np.float64, order="C")
    gwt = np.empty((n, d))
    gwo = np.empty((n, d))
    loss, dsig = k.batch_gradient(False, 0.0, np.zeros(n + 1), False, np.zeros(sizes.size, np.uint64), wt, wo,
                                  wo.T @ wo, gmat.T @ wo, gmat, np.ascontiguousarray(gmat.T), gmat.T @ gmat,
                                  np.einsum("ij,ij->j", gmat, gmat), float(sigma), bool(has_g), gwt,
                                  *work.args())
    k.output_gradient(work.bounds, wo, work.amat, gmat, work.cmat, work.rmat, float(sigma), bool(has_g), gwo)
    return loss, gwt, gwo, dsig
