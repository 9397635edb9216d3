"""Objectives and evaluators (layer 2): closed forms, the one-hot loss and gradient, plain Monte Carlo, the
stratified estimator, and the one dispatcher `loss_per_feature` (loss.py)."""

from .closed_forms import (naive_loss, naive_offset_loss, one_hot_loss, one_hot_lower_bound, optimal_offset,
                           zero_loss)
from .estimate import LossEstimate
from .loss import loss_per_feature
from .stratified import LossCurve, loss_curve

__all__ = ["loss_per_feature", "LossEstimate", "loss_curve", "LossCurve", "one_hot_loss", "one_hot_lower_bound",
           "zero_loss", "naive_loss", "naive_offset_loss", "optimal_offset"]
