"""Debugging ops: ``check_numerics`` stops a run at the first NaN or Inf, naming the node."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..dtypes import DType
from ..errors import InvalidArgumentError
from ..graph import Tensor
from .base import Operation
from .registry import RegisterGradient
from .shapes import Shape

__all__ = ["check_numerics", "verify_tensor_all_finite"]


class CheckNumerics(Operation):
    """Passes its input through unchanged, or fails naming itself if it holds NaN or Inf."""

    op_type = "CheckNumerics"

    def __init__(self, tensor: Any, message: str, name: str | None = None):
        self.message = message
        super().__init__([tensor], name=name)

    def infer(self, x: Tensor) -> tuple[Shape, DType | None]:
        return self.shape_rule(x.shape), x.dtype

    def shape_rule(self, x: Shape) -> Shape:
        return x

    def compute(self, x: Any) -> Any:
        array = np.asarray(x)
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            found = "NaN" if np.isnan(array).any() else "Inf"
            source = self.inputs[0]
            raise InvalidArgumentError(
                f"{self.message}: {source.op_type} '{source.name}' ({source.source}) "
                f"produced {found}",
                self,
            )
        return x


@RegisterGradient("CheckNumerics")
def _check_numerics_grad(op: Operation, grad: Tensor) -> Tensor:
    return CheckNumerics(grad, f"{op.message} (gradient)")


def check_numerics(tensor: Any, message: str, name: str | None = None) -> Tensor:
    """``tensor`` unchanged; running it fails with ``message`` if it contains NaN or Inf."""
    return CheckNumerics(tensor, message, name=name)


def verify_tensor_all_finite(t: Any, msg: str, name: str | None = None) -> Tensor:
    return CheckNumerics(t, msg, name=name)
