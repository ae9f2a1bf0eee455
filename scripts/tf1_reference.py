"""Runs the TF1 programs of ``tests/tf1_programs/`` under real ``tf.compat.v1`` and writes
their results as JSON fixtures to ``tests/fixtures/tf1/`` (one file per program).

Run it through ``scripts/tf1-reference.sh``, which makes a throwaway environment with
TensorFlow: TensorFlow is never a dependency of chainrule. Usage:
``python scripts/tf1_reference.py [NAME ...]`` (all programs when no name is given).
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
from typing import Any

import numpy as np

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as real_tf  # noqa: E402

tf = real_tf.compat.v1
tf.disable_eager_execution()

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from tf1_programs import PROGRAMS  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "tf1"


def encode(value: Any) -> Any:
    """A result as JSON: arrays keep their dtype and shape; names and flags stay as they are."""
    if isinstance(value, dict):
        return {"dict": {str(k): encode(v) for k, v in value.items()}}
    if isinstance(value, bool | str) or value is None:
        return {"plain": value}
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return {"plain": list(value)}
    array = np.asarray(value)
    return {"dtype": array.dtype.name, "shape": list(array.shape), "value": array.tolist()}


def write_fixture(name: str) -> pathlib.Path:
    results = PROGRAMS[name](tf)
    fixture = {
        "program": name,
        "tensorflow": real_tf.__version__,
        "results": {key: encode(value) for key, value in results.items()},
    }
    path = FIXTURES / f"{name}.json"
    path.write_text(json.dumps(fixture, indent=1, sort_keys=True) + "\n")
    return path


def main(names: list[str]) -> None:
    FIXTURES.mkdir(parents=True, exist_ok=True)
    for name in names or sorted(PROGRAMS):
        print(f"{name}: {write_fixture(name).relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
