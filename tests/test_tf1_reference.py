"""TF1 programs under ``chainrule.compat.v1`` give the numbers and names real TF1 gives.

The references in ``tests/fixtures/tf1/`` were written by ``scripts/tf1-reference.sh`` running
the same programs (``tests/tf1_programs/``) under TensorFlow's ``tf.compat.v1``.
"""

import json
import pathlib

import numpy as np
import pytest
from tf1_programs import PROGRAMS

import chainrule.compat.v1 as tf

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "tf1"
#: float32 results are compared at float32 precision (TF's kernels sum in other orders)
TOLERANCES = {"float16": 1e-3, "float32": 2e-5, "float64": 1e-10}


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def test_every_program_has_a_fixture_and_every_fixture_a_program():
    stored = {path.stem for path in FIXTURES.glob("*.json")}
    assert stored == set(PROGRAMS), "run scripts/tf1-reference.sh to regenerate"


def _compare(key: str, expected: dict, got) -> None:
    if "dict" in expected:
        assert set(got) == set(expected["dict"]), key
        for k, v in expected["dict"].items():
            _compare(f"{key}[{k}]", v, got[k])
        return
    if "plain" in expected:
        want = expected["plain"]
        assert (list(got) if isinstance(want, list) else got) == want, key
        return
    array = np.asarray(got)
    assert list(array.shape) == expected["shape"], key
    assert array.dtype.name == expected["dtype"], f"{key}: dtype {array.dtype.name}"
    want = np.asarray(expected["value"], dtype=expected["dtype"]).reshape(expected["shape"])
    if array.dtype.kind == "f":
        tol = TOLERANCES[array.dtype.name]
        np.testing.assert_allclose(array, want, rtol=tol, atol=tol, err_msg=key)
    else:
        np.testing.assert_array_equal(array, want, err_msg=key)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_matches_tf1(name):
    expected = _fixture(name)["results"]
    got = PROGRAMS[name](tf)
    assert set(got) == set(expected)
    for key in sorted(expected):
        _compare(key, expected[key], got[key])
