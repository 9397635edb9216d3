"""Training (layer 3): `train`, the Numba gradient trainer (trainer.py), and the plain NumPy baseline
`train_dense_numpy` (dense.py) used by benchmarks and as an independent check."""

from .dense import train_dense_numpy
from .trainer import TrainingDivergedError, TrainResult, cosine_lr, kaiming_uniform_init, train

__all__ = ["train", "TrainResult", "TrainingDivergedError", "cosine_lr", "kaiming_uniform_init",
           "train_dense_numpy"]
