"""Braun et al.'s residual MLPs (ApolloResearch/apd, goodfire-ai/spd, experiments/resid_mlp):
tasks, weights, the exact one-hot loss at any depth, Monte Carlo losses, a trainer and constructions
(naive, minimize_exact).

Column convention: r_0 = embedding @ x, r_(l+1) = r_l + W_out[l] ReLU(W_in[l] r_l),
y_hat = embedding.T @ r_L; labels ReLU(c * x) + x. docs/residual.md.

Imported on demand (`import ccsolve.residual`), not by `import ccsolve`.
"""

from .constructions import ResidualExactObjective, ResidualMinimizeResult, minimize_exact, naive
from .evaluation import ResidualLossEstimate, loss_per_feature, one_hot_feature_errors, one_hot_loss, two_active_loss
from .task import PRESETS, ResidualTask
from .trainer import ResidualTrainResult, TrainingDivergedError, linear_default_init, train, train_dense_numpy
from .weights import ResidualWeights

__all__ = [
    "PRESETS",
    "ResidualExactObjective",
    "ResidualMinimizeResult",
    "minimize_exact",
    "naive",
    "ResidualLossEstimate",
    "ResidualTask",
    "ResidualTrainResult",
    "ResidualWeights",
    "TrainingDivergedError",
    "linear_default_init",
    "loss_per_feature",
    "one_hot_feature_errors",
    "one_hot_loss",
    "train",
    "train_dense_numpy",
    "two_active_loss",
]
