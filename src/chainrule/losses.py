"""``chainrule.losses``: TF1's ``tf.losses`` — per-example losses, weighted and reduced.

Every loss takes ``weights`` (a number or a tensor broadcastable to the per-example losses)
and a ``reduction``; the default, ``SUM_BY_NONZERO_WEIGHTS``, is the mean over examples
when ``weights`` is 1. Each loss is also added to the graph's "losses" collection.

    loss = cr.losses.sparse_softmax_cross_entropy(labels=y, logits=logits)
"""

from __future__ import annotations

from typing import Any

from .errors import InvalidArgumentError, ShapeError
from .graph import GraphKeys, Tensor, get_default_graph
from .ops import array_ops
from .ops.base import constant, convert_to_tensor
from .ops.logic_ops import div_no_nan, not_equal
from .ops.math_ops import (
    abs,  # noqa: A004 - TF1's name
    add_n,
    cast,
    divide,
    log,
    minimum,
    multiply,
    square,
    stop_gradient,
)
from .ops.reduction_ops import reduce_mean, reduce_sum
from .ops.shapes import broadcast_shapes, fmt
from .ops.softmax_ops import (
    merged_shape,
    sigmoid_cross_entropy_with_logits,
    softmax_cross_entropy_with_logits_v2,
    sparse_softmax_cross_entropy_with_logits,
)

__all__ = [
    "Reduction",
    "compute_weighted_loss",
    "mean_squared_error",
    "absolute_difference",
    "huber_loss",
    "log_loss",
    "softmax_cross_entropy",
    "sparse_softmax_cross_entropy",
    "sigmoid_cross_entropy",
    "add_loss",
    "get_losses",
    "get_regularization_loss",
    "get_regularization_losses",
    "get_total_loss",
]


class Reduction:
    """How per-example losses become the returned loss (TF1's names and values)."""

    NONE = "none"
    SUM = "weighted_sum"
    SUM_OVER_BATCH_SIZE = "weighted_sum_over_batch_size"
    MEAN = "weighted_mean"
    SUM_BY_NONZERO_WEIGHTS = "weighted_sum_by_nonzero_weights"
    SUM_OVER_NONZERO_WEIGHTS = SUM_BY_NONZERO_WEIGHTS

    @classmethod
    def all(cls) -> tuple[str, ...]:
        return (cls.NONE, cls.SUM, cls.MEAN, cls.SUM_OVER_BATCH_SIZE, cls.SUM_BY_NONZERO_WEIGHTS)

    @classmethod
    def validate(cls, key: str) -> None:
        if key not in cls.all():
            raise InvalidArgumentError(f"invalid reduction {key!r}; use one of {cls.all()}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


#: TF1 names the averaged loss ``<scope>/value`` (``mean_squared_error/value:0``)
VALUE = "value"


def _reduce(losses: Tensor, weights: Any, reduction: str) -> Tensor:
    """Weight ``losses`` and reduce them as ``reduction`` says."""
    if _is_number(weights):
        return _reduce_by_number(losses, float(weights), reduction)
    weights = cast(convert_to_tensor(weights, graph=losses.graph), losses.dtype)
    weighted = multiply(losses, weights)
    if reduction == Reduction.NONE:
        return weighted
    total = reduce_sum(weighted)
    if reduction == Reduction.SUM:
        return total
    ones = array_ops.ones_like(losses)
    if reduction == Reduction.SUM_OVER_BATCH_SIZE:
        return divide(total, reduce_sum(ones), name=VALUE)
    if reduction == Reduction.MEAN:
        return div_no_nan(total, reduce_sum(weights * ones), name=VALUE)
    present = cast(not_equal(weights, 0.0), losses.dtype) * ones
    return div_no_nan(total, reduce_sum(present), name=VALUE)


def _reduce_by_number(losses: Tensor, weight: float, reduction: str) -> Tensor:
    """The reductions for a constant weight: sums scale by it, means ignore it unless it is 0."""
    if reduction == Reduction.NONE:
        return losses if weight == 1.0 else losses * weight
    if reduction == Reduction.SUM:
        total = reduce_sum(losses)
        return total if weight == 1.0 else total * weight
    if weight == 1.0 or (weight != 0.0 and reduction == Reduction.MEAN):
        return reduce_mean(losses, name=VALUE)
    return multiply(reduce_mean(losses), weight, name=VALUE)


def compute_weighted_loss(
    losses: Any,
    weights: Any = 1.0,
    scope: str | None = None,
    loss_collection: str | None = GraphKeys.LOSSES,
    reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS,
) -> Tensor:
    """``losses`` times ``weights``, reduced as ``reduction`` says; added to ``loss_collection``."""
    Reduction.validate(reduction)
    losses = convert_to_tensor(losses)
    graph = losses.graph
    with graph.as_default(), graph.name_scope(scope or "weighted_loss"):
        return _weighted_loss(losses, weights, loss_collection, reduction)


def _weighted_loss(
    losses: Tensor, weights: Any, loss_collection: str | None, reduction: str
) -> Tensor:
    """``compute_weighted_loss`` in the current name scope (each loss function's own, so its
    result is ``mean_squared_error/value`` as in TF1)."""
    Reduction.validate(reduction)
    if losses.dtype is not None and not losses.dtype.is_floating:
        losses = cast(losses, "float32")
    _check_weights_shape(weights, losses)
    loss = _reduce(losses, weights, reduction)
    if loss_collection:
        losses.graph.add_to_collection(loss_collection, loss)
    return loss


def _check_weights_shape(weights: Any, losses: Tensor) -> None:
    """Weights must broadcast to the losses' shape (not make it bigger)."""
    shape = getattr(weights, "shape", None)
    if shape is None or losses.shape is None or _is_number(weights):
        return
    combined = broadcast_shapes(tuple(shape), losses.shape)
    if combined is not None and len(combined) != len(losses.shape):
        raise ShapeError(
            f"weights of shape {fmt(tuple(shape))} do not broadcast to losses of shape "
            f"{fmt(losses.shape)}"
        )


def _float_pair(labels: Any, predictions: Any) -> tuple[Tensor, Tensor]:
    """``predictions`` as a float node and ``labels`` cast to its dtype, shapes checked."""
    predictions = convert_to_tensor(predictions)
    if predictions.dtype is not None and not predictions.dtype.is_floating:
        predictions = cast(predictions, "float32")
    labels = convert_to_tensor(labels, graph=predictions.graph)
    if predictions.dtype is not None and labels.dtype != predictions.dtype:
        labels = cast(labels, predictions.dtype)
    _check_compatible(labels, predictions, "labels", "predictions")
    return labels, predictions


def _check_compatible(a: Tensor, b: Tensor, a_name: str, b_name: str) -> None:
    merged_shape(a.shape, b.shape, f"{a_name} and {b_name}")


def mean_squared_error(
    labels: Any,
    predictions: Any,
    weights: Any = 1.0,
    scope: str | None = None,
    loss_collection: str | None = GraphKeys.LOSSES,
    reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS,
) -> Tensor:
    """Weighted ``(predictions - labels) ** 2``, reduced (the mean by default)."""
    labels, predictions = _float_pair(labels, predictions)
    graph = predictions.graph
    with graph.as_default(), graph.name_scope(scope or "mean_squared_error"):
        losses = square(predictions - labels)
        return _weighted_loss(losses, weights, loss_collection, reduction)


def absolute_difference(
    labels: Any,
    predictions: Any,
    weights: Any = 1.0,
    scope: str | None = None,
    loss_collection: str | None = GraphKeys.LOSSES,
    reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS,
) -> Tensor:
    """Weighted ``|predictions - labels|``, reduced (the mean by default)."""
    labels, predictions = _float_pair(labels, predictions)
    graph = predictions.graph
    with graph.as_default(), graph.name_scope(scope or "absolute_difference"):
        losses = abs(predictions - labels)
        return _weighted_loss(losses, weights, loss_collection, reduction)


def huber_loss(
    labels: Any,
    predictions: Any,
    weights: Any = 1.0,
    delta: float = 1.0,
    scope: str | None = None,
    loss_collection: str | None = GraphKeys.LOSSES,
    reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS,
) -> Tensor:
    """Quadratic within ``delta`` of the label, linear beyond: ``0.5 q² + delta (|e| - q)``."""
    labels, predictions = _float_pair(labels, predictions)
    graph = predictions.graph
    with graph.as_default(), graph.name_scope(scope or "huber_loss"):
        error = abs(predictions - labels)
        quadratic = minimum(error, float(delta))
        losses = 0.5 * square(quadratic) + float(delta) * (error - quadratic)
        return _weighted_loss(losses, weights, loss_collection, reduction)


def log_loss(
    labels: Any,
    predictions: Any,
    weights: Any = 1.0,
    epsilon: float = 1e-7,
    scope: str | None = None,
    loss_collection: str | None = GraphKeys.LOSSES,
    reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS,
) -> Tensor:
    """Binary cross-entropy of probabilities: ``-z log(p + eps) - (1 - z) log(1 - p + eps)``."""
    labels, predictions = _float_pair(labels, predictions)
    graph = predictions.graph
    with graph.as_default(), graph.name_scope(scope or "log_loss"):
        losses = -labels * log(predictions + epsilon) - (1.0 - labels) * log(
            1.0 - predictions + epsilon
        )
        return _weighted_loss(losses, weights, loss_collection, reduction)


def softmax_cross_entropy(
    onehot_labels: Any,
    logits: Any,
    weights: Any = 1.0,
    label_smoothing: float = 0,
    scope: str | None = None,
    loss_collection: str | None = GraphKeys.LOSSES,
    reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS,
) -> Tensor:
    """Softmax cross-entropy against one-hot labels, optionally smoothed towards uniform.

    With ``label_smoothing = s`` the labels become ``labels * (1 - s) + s / num_classes``.
    """
    logits = convert_to_tensor(logits)
    graph = logits.graph
    with graph.as_default(), graph.name_scope(scope or "softmax_cross_entropy_loss"):
        labels = convert_to_tensor(onehot_labels, graph=graph)
        if logits.dtype is not None and labels.dtype != logits.dtype:
            labels = cast(labels, logits.dtype)
        _check_compatible(labels, logits, "onehot_labels", "logits")
        if label_smoothing:
            classes = logits.shape[-1] if logits.shape is not None else None
            if classes is None:
                raise ShapeError("label_smoothing needs the number of classes known statically")
            smooth = float(label_smoothing)
            labels = labels * (1.0 - smooth) + smooth / classes
        labels = stop_gradient(labels)
        losses = softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits)
        return _weighted_loss(losses, weights, loss_collection, reduction)


def sparse_softmax_cross_entropy(
    labels: Any,
    logits: Any,
    weights: Any = 1.0,
    scope: str | None = None,
    loss_collection: str | None = GraphKeys.LOSSES,
    reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS,
) -> Tensor:
    """Softmax cross-entropy against integer class labels."""
    logits = convert_to_tensor(logits)
    graph = logits.graph
    with graph.as_default(), graph.name_scope(scope or "sparse_softmax_cross_entropy_loss"):
        losses = sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
        return _weighted_loss(losses, weights, loss_collection, reduction)


def sigmoid_cross_entropy(
    multi_class_labels: Any,
    logits: Any,
    weights: Any = 1.0,
    label_smoothing: float = 0,
    scope: str | None = None,
    loss_collection: str | None = GraphKeys.LOSSES,
    reduction: str = Reduction.SUM_BY_NONZERO_WEIGHTS,
) -> Tensor:
    """Elementwise logistic loss; smoothing moves labels towards 1/2: ``z (1 - s) + s / 2``."""
    logits = convert_to_tensor(logits)
    graph = logits.graph
    with graph.as_default(), graph.name_scope(scope or "sigmoid_cross_entropy_loss"):
        labels = convert_to_tensor(multi_class_labels, graph=graph)
        if logits.dtype is not None and labels.dtype != logits.dtype:
            labels = cast(labels, logits.dtype)
        _check_compatible(labels, logits, "multi_class_labels", "logits")
        if label_smoothing:
            smooth = float(label_smoothing)
            labels = labels * (1.0 - smooth) + 0.5 * smooth
        losses = sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)
        return _weighted_loss(losses, weights, loss_collection, reduction)


def add_loss(loss: Tensor, loss_collection: str = GraphKeys.LOSSES) -> None:
    """Add a loss of your own to ``loss_collection`` (so ``get_total_loss`` includes it)."""
    if loss_collection:
        loss.graph.add_to_collection(loss_collection, loss)


def get_losses(scope: str | None = None, loss_collection: str = GraphKeys.LOSSES) -> list[Tensor]:
    """The losses in ``loss_collection`` (those whose name matches ``scope``, if given)."""
    return get_default_graph().get_collection(loss_collection, scope)


def get_regularization_losses(scope: str | None = None) -> list[Tensor]:
    """The regularization terms that layers added (e.g. through ``kernel_regularizer``)."""
    return get_losses(scope, GraphKeys.REGULARIZATION_LOSSES)


def get_regularization_loss(
    scope: str | None = None, name: str = "total_regularization_loss"
) -> Tensor:
    """The sum of the regularization terms layers added (``kernel_regularizer=``), or a
    constant 0.0 when there are none, as TF1's ``tf.losses.get_regularization_loss``."""
    terms = get_regularization_losses(scope)
    if not terms:
        return constant(0.0)
    return add_n(terms, name=name)


def get_total_loss(
    add_regularization_losses: bool = True, name: str = "total_loss", scope: str | None = None
) -> Tensor:
    """The sum of all collected losses (and regularization terms)."""
    terms = get_losses(scope)
    if add_regularization_losses:
        terms += get_regularization_losses(scope)
    if not terms:
        raise InvalidArgumentError("there are no losses in the graph's collections to sum")
    return add_n(terms, name=name)
