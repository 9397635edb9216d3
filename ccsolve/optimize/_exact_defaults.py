"""p-dependent defaults of minimize_exact (issue 13, small-p follow-up; measured in docs/exact_objective.md,
"Defaults by p").

  one-hot task     init "one_hot" (minimize_one_hot's solution, then L-BFGS on E_1): SNMF's basin is
                   0.0594 after 60 iterations, minimize_one_hot's 0.0551
  p <= 0.002       init "one_hot_continuation": minimize_one_hot's solution, 60 iterations of the default
                   call at p = 0.005 from it, its weights the start at p, then TINY_P_HOPS basin hops of
                   HOP_MAXITER iterations (minimize_exact(hops=...)). Every local descent stalls above
                   training at p = 0.001 (this start alone 0.05732; through p = 0.002/0.003/0.01 or from
                   "continuation", random inits, other one-hot optima: 0.0573-0.0580; best trained 0.05709):
                   the stall sits on W_in entries near 0 (E_1 has a kink there), and random multiplicative
                   kicks followed by short runs keep finding lower basins (docs/exact_objective.md)
  0.002 < p <= 0.005  init "continuation": the default call at p = 0.01 (SNMF, 60 iterations), its weights
                   the start at p (at p = 0.003 SNMF's 60 iterations end far above training; the p = 0.01
                   solution is already in a good basin), then SMALL_P_HOPS basin hops (at p = 0.003 the
                   run alone beats the best trained seed by only ~2 SE; each hop lowers F by 1-4e-5)
  0.005 < p < 0.02 init "snmf", 60 iterations, 2^15 tail samples (the issue-13 defaults)
  p >= 0.02        init "snmf", 100 iterations, 2^17 tail samples: with 2^15 fixed samples the optimiser
                   fits the sample (F 0.0006 below the independent L/p at p = 0.03)
"""

from __future__ import annotations

CONTINUATION_P = 0.01  # the p the "continuation" init solves first
ONE_HOT_CONTINUATION_P = 0.005  # the p the "one_hot_continuation" init solves first (from init "one_hot")
TINY_P = 0.002  # p <= TINY_P: init "one_hot_continuation"
SMALL_P = 0.005  # p <= SMALL_P: init "continuation"
LARGE_P = 0.02  # p >= LARGE_P: more iterations and tail samples
BASE_MAXITER = 60
LARGE_P_MAXITER = 100
BASE_TAIL_SAMPLES = 1 << 15
TINY_P_HOPS = 4  # basin-hopping rounds at p <= TINY_P
SMALL_P_HOPS = 4  # basin-hopping rounds at TINY_P < p <= SMALL_P (none above)
HOP_MAXITER = 30  # projected L-BFGS iterations per hop
LARGE_P_TAIL_SAMPLES = 1 << 17


def default_init(task) -> list:
    """The inits init="auto" stands for at this task."""
    if task.one_hot:
        return ["one_hot"]
    if task.p <= TINY_P:
        return ["one_hot_continuation"]
    if task.p <= SMALL_P:
        return ["continuation"]
    return ["snmf"]


def default_maxiter(task) -> int:
    return LARGE_P_MAXITER if (not task.one_hot and task.p >= LARGE_P) else BASE_MAXITER


def default_tail_samples(task) -> int:
    return LARGE_P_TAIL_SAMPLES if (not task.one_hot and task.p >= LARGE_P) else BASE_TAIL_SAMPLES


def default_hops(task) -> int:
    if task.one_hot or task.p > SMALL_P:
        return 0
    return TINY_P_HOPS if task.p <= TINY_P else SMALL_P_HOPS


def default_hop_maxiter(task) -> int:
    return HOP_MAXITER
