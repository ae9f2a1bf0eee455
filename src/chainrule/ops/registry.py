"""Op types and their gradient functions: ``@RegisterGradient("MyOp")`` as in the Deep Learning From Scratch series and TF1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import InvalidArgumentError, NotFoundError

__all__ = ["RegisterGradient", "NotDifferentiable", "no_gradient", "gradient_function"]

GradientFn = Callable[[Any, Any], Any]

op_types: dict[str, type] = {}
_gradients: dict[str, GradientFn | None] = {}


def register_op_type(op_type: str, cls: type) -> None:
    """Called for every ``Operation`` subclass (built in or the user's) when it is defined."""
    op_types[op_type] = cls


class RegisterGradient:
    """Decorator: ``@RegisterGradient("cube")`` makes ``f(op, grad)`` the gradient of op type cube.

    ``f`` returns one gradient per input (a single value for a one-input op), each a node, a
    NumPy value, or ``None`` where no gradient flows.
    """

    def __init__(self, op_type: str):
        if not isinstance(op_type, str):
            raise InvalidArgumentError(
                f'RegisterGradient takes an op type name such as "Square", got {op_type!r}'
            )
        self.op_type = op_type

    def __call__(self, fn: GradientFn) -> GradientFn:
        if self.op_type not in op_types:
            raise NotFoundError(
                f"RegisterGradient({self.op_type!r}): there is no op type {self.op_type!r}; "
                "define the Operation subclass (its class name is its op type) before "
                "registering its gradient"
            )
        _gradients[self.op_type] = fn
        return fn


def NotDifferentiable(op_type: str) -> None:  # noqa: N802 - TF1's name
    """Declare that no gradient flows through ``op_type`` (its inputs get ``None``)."""
    _gradients[op_type] = None


no_gradient = NotDifferentiable


def has_gradient_entry(op_type: str) -> bool:
    return op_type in _gradients


def gradient_function(node: Any) -> GradientFn | None:
    """The registered gradient of ``node``'s op type; ``None`` if declared non-differentiable."""
    try:
        return _gradients[node.op_type]
    except KeyError:
        raise NotFoundError(
            f"no gradient is registered for op type '{node.op_type}'; "
            f"add one with @RegisterGradient('{node.op_type}')",
            node,
        ) from None
