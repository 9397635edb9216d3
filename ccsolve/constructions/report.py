"""How good a set of weights is: one-hot loss, the lower bound, the gap (and L/p at p on request)."""

from __future__ import annotations

from dataclasses import dataclass

from ..core import validation as v
from ..core.results import Result, SolverResult
from ..core.blas import one_blas_thread
from ..core.task import Task, check_task
from ..core.weights import check_weights
from ..evaluation.closed_forms import one_hot_loss, one_hot_lower_bound

__all__ = ["Summary", "summarize", "Reported"]


@dataclass(frozen=True, repr=False)
class Summary(Result):
    """How good a set of weights is.

    one_hot_loss      exact one-hot L/p (the p -> 0 limit)
    lower_bound       ccsolve.one_hot_lower_bound: no weights have a smaller one-hot L/p
    gap               one_hot_loss - lower_bound (>= 0 up to rounding)
    loss_per_feature  L/p at `p` (Monte Carlo, ccsolve.loss_per_feature), None unless requested
    stderr            its standard error
    p, n_samples      where and how L/p was estimated
    """

    one_hot_loss: float
    lower_bound: float
    gap: float
    loss_per_feature: float | None = None
    stderr: float | None = None
    p: float | None = None
    n_samples: int = 0


@one_blas_thread
def summarize(weights, task: Task, at_p: bool = False, n_samples: int = 1 << 22, seed=0) -> Summary:
    """One-hot loss, lower bound and gap of `weights` (Weights or a result with .weights) on `task`;
    with at_p=True also L/p at task.p by Monte Carlo (n_samples samples, `seed`)."""
    task = check_task(task)
    weights = check_weights(getattr(weights, "weights", weights), task.n_features)
    at_p = v.boolean("at_p", at_p)
    loss = one_hot_loss(weights, task.mixing)
    bound = one_hot_lower_bound(task)
    if not at_p:
        return Summary(loss, bound, loss - bound)
    from ..evaluation.loss import loss_per_feature

    est = loss_per_feature(weights, task.with_p(task.p), method="monte_carlo", n_samples=n_samples, seed=seed)
    return Summary(loss, bound, loss - bound, float(est.value), float(est.stderr), task.p, int(est.n_samples))


class Reported(SolverResult):
    """A solver result (SolverResult fields) that can also summarise its weights on a task."""

    def summary(self, task: Task, at_p: bool = False, n_samples: int = 1 << 22, seed=0) -> Summary:
        """summarize(self.weights, task, ...)."""
        return summarize(self.weights, task, at_p=at_p, n_samples=n_samples, seed=seed)
