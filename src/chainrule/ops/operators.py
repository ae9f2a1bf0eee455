"""Python operators on nodes: ``+ - * / // % ** @``, ``< <= > >=``, ``& | ^ ~``, ``-x``,
``abs(x)`` and ``x[...]``, each building the op its named function builds.

``==`` and ``!=`` stay identity (nodes are dict keys); use ``equal`` and ``not_equal``.
Importing ``chainrule`` installs them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..graph import Tensor
from . import slice_ops
from .logic_ops import (
    greater,
    greater_equal,
    less,
    less_equal,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
)
from .math_ops import (  # noqa: A004 - abs and pow are TF1's names
    abs,
    add,
    divide,
    floordiv,
    floormod,
    multiply,
    negative,
    pow,
    subtract,
)


def _install_operators() -> None:
    """Give ``Tensor`` its Python operators, each building the matching op."""

    def binary(fn: Callable[..., Tensor]) -> tuple[Callable[..., Tensor], Callable[..., Tensor]]:
        return (lambda a, b: fn(a, b)), (lambda a, b: fn(b, a))

    pairs = {
        "add": add,
        "sub": subtract,
        "mul": multiply,
        "truediv": divide,
        "floordiv": floordiv,
        "mod": floormod,
        "pow": pow,
        "and": logical_and,
        "or": logical_or,
        "xor": logical_xor,
        "matmul": lambda a, b: _matmul(a, b),
    }
    for short, fn in pairs.items():
        forward, reflected = binary(fn)
        setattr(Tensor, f"__{short}__", forward)
        setattr(Tensor, f"__r{short}__", reflected)
    Tensor.__neg__ = lambda a: negative(a)
    Tensor.__pos__ = lambda a: a
    Tensor.__abs__ = lambda a: abs(a)
    Tensor.__invert__ = lambda a: logical_not(a)
    Tensor.__lt__ = lambda a, b: less(a, b)
    Tensor.__le__ = lambda a, b: less_equal(a, b)
    Tensor.__gt__ = lambda a, b: greater(a, b)
    Tensor.__ge__ = lambda a, b: greater_equal(a, b)
    Tensor.__getitem__ = lambda a, key: slice_ops.slice_with(a, key)


def _matmul(a: Any, b: Any) -> Tensor:
    from .linalg_ops import matmul

    return matmul(a, b)


_install_operators()
