"""Small TF1 programs that run unchanged under TensorFlow and under ``chainrule.compat.v1``.

Each program takes the ``tf`` module and returns named results (arrays, numbers, names).
``scripts/tf1_reference.py`` runs them under real ``tf.compat.v1`` and stores the results as
JSON fixtures in ``tests/fixtures/tf1/``; ``tests/test_tf1_reference.py`` runs them under
chainrule and compares. Nothing here may depend on TensorFlow's random numbers.

The generator imports this package inside a throwaway TensorFlow environment, so programs
need only NumPy. Each area has its own module; add a module's name to ``AREAS``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

Program = Callable[[Any], dict[str, Any]]
PROGRAMS: dict[str, Program] = {}

#: the modules of this package that define programs
AREAS = (
    "basics",
    "training_helpers",
    "collections_and_metrics",
    "summaries",
    "dynamic_shapes",
    "cnn",
    "data",
    "control_flow",
)


def program(name: str) -> Callable[[Program], Program]:
    """Register a TF1 program under ``name`` (also its fixture's file name)."""

    def register(fn: Program) -> Program:
        if name in PROGRAMS:
            raise ValueError(f"two TF1 programs are named {name!r}")
        PROGRAMS[name] = fn
        return fn

    return register


for _area in AREAS:
    importlib.import_module(f"{__name__}.{_area}")
