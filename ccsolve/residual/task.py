"""The residual-MLP task of Braun et al. (ApolloResearch/apd, goodfire-ai/spd, experiments/resid_mlp).

Column convention. A sample x (n_features,) enters a residual stream of width d_embed as
r_0 = E x, E = `embedding` (d_embed, n_features); each of the n_layers bias-free ReLU MLPs adds its
output, r_(l+1) = r_l + W_out[l] ReLU(W_in[l] r_l); the output is read off as y_hat = E^T r_L.
Labels (label_type "act_plus_resid", the targets' choice) y = ReLU(c * x) + x with coefficients
c > 0 (c = 1 in the target configs, "trivial"; spd's random ones are U[1, 2]); label_type "abs" gives
y = |c * x| (spd's other label type). Both are positively homogeneous in x, as is the network: this
is what makes the one-hot loss a closed form at any depth (ccsolve.residual.evaluation).

Inputs: Bernoulli (each feature active with probability p, value U[-1, 1]; spd's
"at_least_zero_active") or exactly k active features (n_active=k; k = 1 is one-hot, spd's
"exactly_one_active"). The reported figure is L/p = E||y_hat - y||^2 / (n_features p) (spd's mean
MSE divided by p); with exactly k active, E||y_hat - y||^2 / k (the expected number of active
features), so one-hot gives E||y_hat - y||^2 as in ccsolve.Task.

The embedding: Gaussian rows of W_E (n_features, d_embed) normalised to unit norm, as spd's
fixed_random_embedding (there drawn by torch.randn, here by numpy from `seed`); E = W_E^T.

Relation to ccsolve.Task (one layer): with trivial coefficients y_hat - y =
(E^T W_out) ReLU((W_in E) x) - ReLU(x) - (I - E^T E) x, i.e. ccsolve's model with
W_in' = W_in E, W_out' = E^T W_out and mixing M = I - E^T E = -(W_E W_E^T - I): the NEGATIVE of the
post's M = W_E W_E^T - I (ccsolve.mixing.embedding(..., sign=-1) draws the same M from the same seed).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from ..core import validation as v
from ..core.blas import one_blas_thread

__all__ = ["PRESETS", "ResidualTask"]

# The target models' training configs (spd, spd/experiments/resid_mlp/train_resid_mlp.py, __main__):
# fixed random embedding, d_embed 1000, ReLU, no biases, trivial coefficients, p = 0.01, Bernoulli
# inputs, read-off MSE, batch 2048, AdamW lr 3e-3 (weight decay 0.01) on a cosine to 0.
# published_mse: the final mean MSE reported in spd PR #95 (one reading; L/p = mse / p).
PRESETS = {
    "resid_mlp1": {"n_features": 100, "d_mlp": 50, "n_layers": 1, "steps": 1_000, "published_mse": 0.000696},
    "resid_mlp2": {"n_features": 100, "d_mlp": 25, "n_layers": 2, "steps": 1_000, "published_mse": 0.000690},
    "resid_mlp3": {"n_features": 102, "d_mlp": 17, "n_layers": 3, "steps": 10_000, "published_mse": 0.000658},
}
LABEL_TYPES = ("act_plus_resid", "abs")


def _d_mlp(value, n_layers: int) -> tuple:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (v.positive_int("d_mlp", value),) * n_layers
    try:
        seq = list(value)
    except TypeError:
        raise TypeError(f"d_mlp must be an int or a sequence of n_layers ints, got {type(value).__name__}") from None
    if len(seq) != n_layers:
        raise ValueError(f"d_mlp has {len(seq)} entries but n_layers={n_layers}")
    return tuple(v.positive_int(f"d_mlp[{i}]", d) for i, d in enumerate(seq))


@dataclass(frozen=True, eq=False)
class ResidualTask:
    """A residual-MLP task (immutable).

    n_features    input features n
    d_embed       residual stream width
    n_layers      number of MLP layers L
    d_mlp         neurons per layer: an int (every layer) or a sequence of L ints; stored as a tuple
    p             feature probability of Bernoulli inputs (kept, and ignored, when n_active is set)
    seed          int or None: draws the embedding, then (coefficients="random") the coefficients
    coefficients  "trivial" (c = 1, the targets), "random" (U[1, 2], as spd's calc_label_coeffs) or
                  an array of n positive numbers
    label_type    "act_plus_resid" (y = ReLU(c x) + x) or "abs" (y = |c x|)
    n_active      None: Bernoulli(p) inputs; k: exactly k active features (1 = one-hot)
    embedding     optional (d_embed, n_features) array used instead of drawing one (e.g. a loaded
                  target's W_E^T); columns need not be unit norm then
    name          preset name (set by from_preset), else None
    """

    n_features: int = 100
    d_embed: int = 1000
    n_layers: int = 1
    d_mlp: object = 50
    p: float = 0.01
    seed: int | None = 0
    coefficients: object = "trivial"
    label_type: str = "act_plus_resid"
    n_active: int | None = None
    embedding: np.ndarray | None = None
    name: str | None = None
    gram: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        n = v.positive_int("n_features", self.n_features)
        dim = v.positive_int("d_embed", self.d_embed)
        n_layers = v.positive_int("n_layers", self.n_layers)
        object.__setattr__(self, "n_features", n)
        object.__setattr__(self, "d_embed", dim)
        object.__setattr__(self, "n_layers", n_layers)
        object.__setattr__(self, "d_mlp", _d_mlp(self.d_mlp, n_layers))
        object.__setattr__(self, "p", v.probability("p", self.p))
        v.choice("label_type", self.label_type, set(LABEL_TYPES))
        if self.n_active is not None:
            k = v.positive_int("n_active", self.n_active)
            if k > n:
                raise ValueError(f"n_active must be <= n_features={n}, got {k}")
            object.__setattr__(self, "n_active", k)
        if self.name is not None and self.name not in PRESETS:
            raise ValueError(f"name must be None or one of {sorted(PRESETS)}, got {self.name!r}")
        gen = None
        if self.embedding is None:
            if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral)):
                raise TypeError(f"seed must be an int or None, got {type(self.seed).__name__}")
            gen = v.rng(self.seed)
            w_e = gen.standard_normal((n, dim))  # spd's W_E layout (n_features, d_embed), unit rows
            w_e /= np.linalg.norm(w_e, axis=1, keepdims=True)
            emb = np.ascontiguousarray(w_e.T)
        else:
            emb = v.as_matrix("embedding", self.embedding, shape=(dim, n)).copy()
            w_e = emb.T
        emb.setflags(write=False)
        object.__setattr__(self, "embedding", emb)
        object.__setattr__(self, "gram", self._gram(w_e, self.embedding is not None and gen is None))
        object.__setattr__(self, "coefficients", self._coefficients(self.coefficients, n, gen))

    @staticmethod
    @one_blas_thread
    def _gram(w_e, given):
        g = w_e @ w_e.T
        if not given:
            np.fill_diagonal(g, 1.0)  # exact: unit rows (as ccsolve.mixing.embedding)
        g = 0.5 * (g + g.T)
        g.setflags(write=False)
        return g

    @staticmethod
    def _coefficients(c, n, gen):
        if isinstance(c, str):
            v.choice("coefficients", c, {"trivial", "random"})
            if c == "trivial":
                out = np.ones(n)
            else:
                out = (gen if gen is not None else np.random.default_rng(0)).random(n) + 1.0
        else:
            try:
                out = np.array(c, dtype=np.float64)
            except (TypeError, ValueError):
                raise TypeError("coefficients must be 'trivial', 'random' or an array of n_features numbers") from None
            if out.shape != (n,):
                raise ValueError(f"coefficients must have shape ({n},), got {out.shape}")
            if not np.all(np.isfinite(out)):
                raise ValueError("coefficients contain NaN or inf entries")
            if np.any(out <= 0):
                raise ValueError(
                    f"coefficients must be > 0 (labels act(c x) + x with positive c keep the task positively "
                    f"homogeneous, as in spd's U[1, 2]); got min {out.min():g} at feature {int(np.argmin(out))}"
                )
        out.setflags(write=False)
        return out

    @classmethod
    def from_preset(cls, name: str, seed: int | None = 0, **overrides) -> ResidualTask:
        """resid_mlp1, resid_mlp2 or resid_mlp3 as in spd's target training configs (PRESETS)."""
        v.choice("name", name, set(PRESETS))
        cfg = PRESETS[name]
        kw = {"n_features": cfg["n_features"], "d_embed": 1000, "n_layers": cfg["n_layers"],
              "d_mlp": cfg["d_mlp"], "p": 0.01, "seed": seed, "coefficients": "trivial",
              "label_type": "act_plus_resid", "name": name}
        kw.update(overrides)
        return cls(**kw)

    # --- derived quantities -------------------------------------------------------------------
    @property
    def one_hot(self) -> bool:
        return self.n_active == 1

    @property
    def label_slopes(self) -> tuple[np.ndarray, np.ndarray]:
        """(lpos, lneg): y_o = lpos[o] x_o for x_o > 0 and lneg[o] |x_o| for x_o < 0."""
        c = self.coefficients
        if self.label_type == "act_plus_resid":
            return c + 1.0, -np.ones(self.n_features)
        return c.copy(), c.copy()

    @property
    def expected_active(self) -> float:
        """The divisor of L/p: n p (Bernoulli) or k (exactly k active)."""
        return float(self.n_active) if self.n_active is not None else self.n_features * self.p

    def labels(self, x) -> np.ndarray:
        """y for x of shape (n_features,) or (n_features, n_samples)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim not in (1, 2) or x.shape[0] != self.n_features:
            raise ValueError(f"x must have shape ({self.n_features},) or ({self.n_features}, n_samples), got {x.shape}")
        c = self.coefficients if x.ndim == 1 else self.coefficients[:, None]
        if self.label_type == "abs":
            return np.abs(c * x)
        return np.maximum(c * x, 0.0) + x

    def sample_inputs(self, n_samples: int, seed=None) -> np.ndarray:
        """A dense batch (n_features, n_samples) of inputs from a numpy Generator (for checks and
        small experiments; the trainer and Monte Carlo use their own Numba sampler)."""
        n_samples = v.positive_int("n_samples", n_samples)
        gen = v.rng(seed)
        n = self.n_features
        vals = gen.uniform(-1.0, 1.0, (n, n_samples))
        if self.n_active is None:
            return np.where(gen.random((n, n_samples)) < self.p, vals, 0.0)
        x = np.zeros((n, n_samples))
        for s in range(n_samples):
            idx = gen.choice(n, self.n_active, replace=False)
            x[idx, s] = vals[: self.n_active, s]
        return x

    def with_p(self, p: float) -> ResidualTask:
        """Same embedding and coefficients, Bernoulli inputs at p."""
        return self._replace(p=p, n_active=None)

    def as_one_hot(self) -> ResidualTask:
        return self._replace(n_active=1)

    def with_active(self, k: int) -> ResidualTask:
        return self._replace(n_active=k)

    def _replace(self, **kw) -> ResidualTask:
        base = {"n_features": self.n_features, "d_embed": self.d_embed, "n_layers": self.n_layers,
                "d_mlp": self.d_mlp, "p": self.p, "seed": self.seed, "coefficients": self.coefficients,
                "label_type": self.label_type, "n_active": self.n_active, "embedding": self.embedding,
                "name": self.name}
        base.update(kw)
        out = ResidualTask(**base)
        object.__setattr__(out, "gram", self.gram)  # identical embedding: keep its exact Gram matrix
        return out

    @property
    def mixing(self) -> np.ndarray:
        """M = I - E^T E (the one-layer reduction's mixing; see the module doc for the sign)."""
        return np.eye(self.n_features) - self.gram

    def to_task(self):
        """The one-layer task as a ccsolve.Task (trivial coefficients, ReLU labels only)."""
        from ..core.task import Task

        if self.n_layers != 1:
            raise ValueError(f"to_task needs n_layers=1 (ccsolve.Task is one layer), got n_layers={self.n_layers}")
        if self.label_type != "act_plus_resid" or not np.all(self.coefficients == 1.0):
            raise ValueError("to_task needs trivial coefficients (c = 1) and label_type='act_plus_resid': "
                             "ccsolve.Task's labels are ReLU(x) + M x")
        if self.n_active is not None and self.n_active != 1:
            raise ValueError(f"ccsolve.Task has Bernoulli or one-hot inputs, not exactly {self.n_active} active")
        return Task(self.mixing, self.d_mlp[0], self.p, one_hot=self.one_hot)

    def config(self) -> dict:
        """JSON-serialisable description (embedding summarised by its seed)."""
        c = self.coefficients
        return {
            "n_features": self.n_features, "d_embed": self.d_embed, "n_layers": self.n_layers,
            "d_mlp": list(self.d_mlp), "p": self.p, "n_active": self.n_active, "seed": self.seed,
            "embedding": "drawn from seed" if self.seed is not None else "given or unseeded",
            "coefficients": "trivial" if np.all(c == 1.0) else c.tolist(), "label_type": self.label_type,
            "name": self.name,
        }

    def __repr__(self):
        mode = f"p={self.p:g}" if self.n_active is None else f"n_active={self.n_active}"
        tag = f"{self.name}, " if self.name else ""
        return (f"ResidualTask({tag}n_features={self.n_features}, d_embed={self.d_embed}, n_layers={self.n_layers}, "
                f"d_mlp={list(self.d_mlp)}, {mode}, label_type={self.label_type!r})")


def check_task(task) -> ResidualTask:
    if not isinstance(task, ResidualTask):
        raise TypeError(f"task must be a ccsolve.residual.ResidualTask, got {type(task).__name__}")
    return task
