"""Gradient clipping by norm, as TF1: ``clip_by_global_norm``, ``clip_by_norm``, ``global_norm``.

Built from ordinary ops, so gradients flow through the clipping (``clip_by_value`` lives in
``math_ops``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..dtypes import DType
from ..errors import DTypeError, InvalidArgumentError
from ..graph import Tensor, get_default_graph
from .array_ops import ones_like
from .base import convert_to_tensor
from .logic_ops import greater, where
from .math_ops import add_n, cast, maximum, minimum, sqrt, square
from .reduction_ops import reduce_sum

__all__ = ["clip_by_global_norm", "clip_by_norm", "global_norm"]


def global_norm(t_list: Sequence[Any], name: str | None = None) -> Tensor:
    """``sqrt(sum of the squares of every element of every tensor)``; ``None`` entries skipped."""
    tensors = _present(_as_sequence(t_list, "global_norm"))
    if not tensors:
        raise InvalidArgumentError("global_norm needs at least one tensor that is not None")
    graph = tensors[0].graph
    with graph.as_default(), graph.name_scope(name or "global_norm"):
        _common_dtype(tensors, "global_norm")
        squares = [reduce_sum(square(t), name="sum_of_squares") for t in tensors]
        return sqrt(add_n(squares), name="global_norm")


def clip_by_global_norm(
    t_list: Sequence[Any],
    clip_norm: Any,
    use_norm: Any = None,
    name: str | None = None,
) -> tuple[list[Tensor | None], Tensor]:
    """Scale all tensors by ``clip_norm / max(global_norm, clip_norm)``; ``(clipped, norm)``.

    ``None`` entries (variables without a gradient) stay ``None``. If the global norm is
    infinite every entry becomes NaN, as in TF1, so that the problem shows.
    """
    items = _as_sequence(t_list, "clip_by_global_norm")
    tensors = _present(items)
    if not tensors:
        raise InvalidArgumentError("clip_by_global_norm needs at least one tensor that is not None")
    graph = tensors[0].graph
    with graph.as_default(), graph.name_scope(name or "clip_by_global_norm"):
        dtype = _common_dtype(tensors, "clip_by_global_norm")
        norm = global_norm(tensors) if use_norm is None else _scalar(use_norm, dtype)
        limit = _scalar(clip_norm, dtype)
        # min(1/norm, 1/clip) * clip is 1 below the limit; adding (norm - norm) turns an
        # infinite norm into NaN instead of silently zeroing every gradient
        scale = limit * minimum(1.0 / norm, 1.0 / limit) + (norm - norm)
        clipped: list[Tensor | None] = []
        converted = iter(tensors)
        for item in items:
            clipped.append(None if item is None else next(converted) * scale)
        return clipped, norm


def clip_by_norm(t: Any, clip_norm: Any, axes: Any = None, name: str | None = None) -> Tensor:
    """``t * clip_norm / max(l2norm(t), clip_norm)``, the norm taken over ``axes`` (all by default).

    A zero tensor stays zero and has a finite gradient.
    """
    t = convert_to_tensor(t)
    graph = t.graph
    with graph.as_default(), graph.name_scope(name or "clip_by_norm"):
        limit = _scalar(clip_norm, t.dtype)
        l2sum = reduce_sum(square(t), axis=axes, keepdims=True)
        positive = greater(l2sum, 0.0)
        safe = where(positive, l2sum, ones_like(l2sum))
        l2norm = where(positive, sqrt(safe), l2sum)
        return (t * limit) / maximum(l2norm, limit)


def _as_sequence(t_list: Any, what: str) -> list[Any]:
    if isinstance(t_list, Tensor | str) or not isinstance(t_list, Sequence):
        raise InvalidArgumentError(f"{what} takes a list of tensors, got {t_list!r}")
    return list(t_list)


def _present(items: list[Any]) -> list[Tensor]:
    graph = next((x.graph for x in items if isinstance(x, Tensor)), get_default_graph())
    return [convert_to_tensor(x, graph=graph) for x in items if x is not None]


def _common_dtype(tensors: list[Tensor], what: str) -> DType | None:
    dtypes = {t.dtype for t in tensors if t.dtype is not None}
    if len(dtypes) > 1:
        names = ", ".join(sorted(d.name for d in dtypes))
        raise DTypeError(f"{what} needs tensors of one dtype, got {names}")
    return next(iter(dtypes), None)


def _scalar(value: Any, dtype: DType | None) -> Tensor:
    """``value`` as a scalar node of ``dtype`` (a node of another dtype is cast)."""
    if isinstance(value, Tensor):
        if dtype is not None and (value.dtype is None or value.dtype != dtype):
            return cast(value, dtype)
        return value
    return convert_to_tensor(value, dtype_hint=dtype)
