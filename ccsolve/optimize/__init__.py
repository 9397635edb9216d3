"""Optimisers over the weights (layer 4): minimize_one_hot (the exact one-hot loss) and minimize_exact (the
stratified exact objective at p), minimize_moments (the exact L/p on exact second moments, dense p), with one registry of starting points (inits.py)."""

from .exact import ExactMinimizeResult, ExactObjective, minimize_exact
from .moments import MomentsMinimizeResult, minimize_moments
from .inits import INITS, expand_inits, initial_weights
from .one_hot import MinimizeResult, minimize_one_hot

__all__ = ["minimize_one_hot", "MinimizeResult", "minimize_exact", "ExactMinimizeResult", "ExactObjective",
           "minimize_moments", "MomentsMinimizeResult", "INITS", "expand_inits", "initial_weights"]
