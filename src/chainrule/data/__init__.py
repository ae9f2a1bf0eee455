"""Data to train on: bundled data sets (``datasets``) and ``tf.data`` input pipelines.

``chainrule.data.load_digits()``, ``blob_clouds()``... give NumPy arrays; ``Dataset`` and the
iterator functions are TF1's ``tf.data`` (``chainrule.compat.v1.data``), which read such
arrays in a session.
"""

from __future__ import annotations

from ..errors import require_module
from . import experimental
from .dataset import (
    AUTOTUNE,
    Dataset,
    Iterator,
    get_output_classes,
    get_output_shapes,
    get_output_types,
    make_initializable_iterator,
    make_one_shot_iterator,
)
from .datasets import *  # noqa: F403
from .datasets import __all__ as _datasets_all

__all__ = [
    *_datasets_all,
    "require_module",
    "experimental",
    "AUTOTUNE",
    "Dataset",
    "Iterator",
    "make_one_shot_iterator",
    "make_initializable_iterator",
    "get_output_types",
    "get_output_shapes",
    "get_output_classes",
]
