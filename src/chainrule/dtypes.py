"""dtypes: float16/32/64, int32/64, bool, with TF1's names and NumPy's kernels."""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import DTypeError

__all__ = ["DType", "as_dtype", "float16", "float32", "float64", "int32", "int64", "bool", "string"]


class DType:
    """A tensor element type; compares equal to its NumPy dtype and its name."""

    __slots__ = ("name", "np")

    def __init__(self, name: str, np_dtype: np.dtype):
        self.name = name
        self.np = np.dtype(np_dtype)

    @property
    def as_numpy_dtype(self) -> type:
        return self.np.type

    @property
    def is_floating(self) -> bool:
        return self.np.kind == "f"

    @property
    def is_integer(self) -> bool:
        return self.np.kind in "iu"

    @property
    def is_bool(self) -> bool:
        return self.np.kind == "b"

    @property
    def base_dtype(self) -> DType:
        return self

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DType):
            return self.np == other.np
        try:
            return self.np == np.dtype(other)  # type: ignore[arg-type]
        except TypeError:
            return False

    def __hash__(self) -> int:
        return hash(self.np)

    def __repr__(self) -> str:
        return f"chainrule.{self.name}"


float16 = DType("float16", np.float16)
float32 = DType("float32", np.float32)
float64 = DType("float64", np.float64)
int32 = DType("int32", np.int32)
int64 = DType("int64", np.int64)
bool = DType("bool", np.bool_)  # noqa: A001 - TF1's name, kept out of ``from chainrule import *``
uint8 = DType("uint8", np.uint8)
int8 = DType("int8", np.int8)
int16 = DType("int16", np.int16)
#: byte strings, as summaries are: no kernel does arithmetic on them
string = DType("string", np.object_)

_BY_NUMPY = {d.np: d for d in (float16, float32, float64, int32, int64, bool, uint8, int8, int16)}


def as_dtype(value: Any) -> DType | None:
    """Turn a DType, NumPy dtype, Python type or name into a DType (``None`` stays ``None``)."""
    if value is None or isinstance(value, DType):
        return value
    try:
        np_dtype = np.dtype(value)
    except TypeError as err:
        raise DTypeError(f"not a dtype: {value!r}") from err
    found = _BY_NUMPY.get(np_dtype)
    if found is None:
        raise DTypeError(f"unsupported dtype {np_dtype} (use float16/32/64, int32/64 or bool)")
    return found


def is_lossless_cast(array: np.ndarray, target: np.dtype) -> bool:
    """True when casting ``array`` to ``target`` keeps every value (int->float, 3.0->3, ...)."""
    if np.can_cast(array.dtype, target, "safe"):
        return True
    if target.kind == "f" and np.can_cast(array.dtype, target, "same_kind"):
        return True  # float64 -> float32 rounds, as TF1 feeds do
    if array.dtype.kind in "OUSV":
        return False
    with np.errstate(invalid="ignore", over="ignore"):
        cast = array.astype(target)
        return np.array_equal(cast.astype(array.dtype), array) is not False
