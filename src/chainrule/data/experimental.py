"""``tf.data.experimental``: the names TF1 programs take from it."""

from __future__ import annotations

from .dataset import AUTOTUNE

__all__ = ["AUTOTUNE"]
