"""Training: optimizers, gradient clipping, checkpoints."""

from ..ops.clip_ops import clip_by_global_norm, clip_by_norm, global_norm
from .optimizer import Optimizer
from .optimizers import (
    AdagradOptimizer,
    AdamOptimizer,
    GradientDescentOptimizer,
    MomentumOptimizer,
    RMSPropOptimizer,
    cosine_decay,
    create_global_step,
    exponential_decay,
    get_global_step,
    get_or_create_global_step,
    inverse_time_decay,
    natural_exp_decay,
    piecewise_constant,
    polynomial_decay,
)
from .saver import (
    CheckpointState,
    Saver,
    checkpoint_exists,
    get_checkpoint_state,
    latest_checkpoint,
    list_variables,
    load_variable,
)

__all__ = [
    "Optimizer",
    "GradientDescentOptimizer",
    "MomentumOptimizer",
    "AdamOptimizer",
    "RMSPropOptimizer",
    "AdagradOptimizer",
    "get_global_step",
    "create_global_step",
    "get_or_create_global_step",
    "exponential_decay",
    "natural_exp_decay",
    "inverse_time_decay",
    "polynomial_decay",
    "cosine_decay",
    "piecewise_constant",
    "Saver",
    "latest_checkpoint",
    "get_checkpoint_state",
    "CheckpointState",
    "checkpoint_exists",
    "list_variables",
    "load_variable",
    "clip_by_global_norm",
    "clip_by_norm",
    "global_norm",
]
