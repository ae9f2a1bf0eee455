"""``import chainrule.compat.v1 as tf``: the TF1 graph-mode API, so that a TF1 program runs
after changing only its import.

Everything in ``chainrule`` is here under its TF1 name (``tf.Session``, ``tf.placeholder``,
``tf.nn.relu``, ``tf.train.AdamOptimizer``, ``tf.abs``...), plus the TF1 switches that only
make sense in TensorFlow 2 and are accepted as no-ops.
"""

from __future__ import annotations

from typing import Any

import chainrule as _chainrule
from chainrule import *  # noqa: F403
from chainrule import data, errors, layers, losses, metrics, nn, summary, train  # noqa: F401


def disable_eager_execution() -> None:
    """Accepted for TF1 programs: chainrule always builds graphs."""


def disable_v2_behavior() -> None:
    """Accepted for TF1 programs: chainrule always has TF1's graph-mode behaviour."""


def enable_resource_variables() -> None:
    """Accepted for TF1 programs; variables behave the same either way."""


def executing_eagerly() -> bool:
    return False


def __getattr__(name: str) -> Any:
    """Names that ``from chainrule import *`` leaves out (``abs``, ``pow``, ``bool``, tools)."""
    try:
        return getattr(_chainrule, name)
    except AttributeError:
        raise AttributeError(f"chainrule.compat.v1 has no attribute '{name}'") from None


#: TF1's ``tf.Operation``: every operation of a graph (placeholders and variables too)
Operation = _chainrule.Node
