"""TF1's streaming metrics (``tf.metrics``): each returns ``(value, update_op)``.

A metric keeps its counters in local variables (collections "local_variables" and
"metric_variables", not trainable, zero after ``local_variables_initializer()``), named as TF1
names them (``accuracy/total``, ``precision/true_positives/count``...). Running ``update_op``
adds a batch to the counters and gives the updated metric; ``value`` reads the metric without
changing it. Every metric is float32, as in TF1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .dtypes import bool as bool_
from .dtypes import float32
from .errors import InvalidArgumentError, ShapeError
from .graph import GraphKeys, Node, Tensor, control_dependencies
from .ops import array_ops, shape_ops, slice_ops
from .ops.base import convert_to_tensor
from .ops.logic_ops import div_no_nan, equal, greater, logical_and, logical_not, where
from .ops.math_ops import cast, log, maximum, minimum, squared_difference
from .ops.reduction_ops import reduce_sum
from .ops.shapes import fmt, is_known
from .ops.state_ops import Variable, assign_add

__all__ = ["accuracy", "mean", "precision", "recall", "auc", "mean_squared_error"]

Metric = tuple[Node, Node]


# -- building blocks ----------------------------------------------------------------------------
def _metric_variable(shape: Sequence[int], name: str) -> Variable:
    """A float32 counter at zero, local and listed as a metric variable, as TF1's."""
    return Variable(
        np.zeros(shape, np.float32),
        trainable=False,
        name=name,
        dtype=float32,
        collections=[GraphKeys.LOCAL_VARIABLES, GraphKeys.METRIC_VARIABLES],
    )


def _graph_of(*values: Any) -> Any:
    """The graph of the first node among ``values`` (metrics build there)."""
    for value in values:
        if isinstance(value, Tensor):
            return value.graph
    return convert_to_tensor(values[0]).graph


def _squeezed(node: Node, other: Node) -> Node:
    """``node`` without its last dimension when it has size 1 and one more than ``other``."""
    if node.shape is None or other.shape is None:
        return node
    if len(node.shape) == len(other.shape) + 1 and node.shape[-1] == 1:
        return shape_ops.squeeze(node, [-1])
    return node


def _aligned(labels: Node, predictions: Node) -> tuple[Node, Node]:
    """TF1's squeezable dimensions removed, then the shapes checked: they must agree."""
    labels, predictions = _squeezed(labels, predictions), _squeezed(predictions, labels)
    _check_same_shape(labels, predictions)
    return labels, predictions


def _check_same_shape(labels: Node, predictions: Node) -> None:
    """Refuse, naming ``predictions``, labels and predictions whose static shapes disagree."""
    a, b = labels.shape, predictions.shape
    if a is None or b is None:
        return
    if len(a) != len(b) or any(
        x is not None and y is not None and x != y for x, y in zip(a, b, strict=True)
    ):
        raise ShapeError(
            f"predictions of shape {fmt(b)} do not match labels '{labels.name}' of shape {fmt(a)}",
            predictions,
        )


def _broadcast_weights(weights: Any, values: Node) -> Node:
    """``weights`` as float32 of ``values``' shape; they must broadcast to that shape."""
    weights = cast(convert_to_tensor(weights, graph=values.graph), float32)
    weights = _squeezed(weights, values)
    if is_known(weights.shape) and is_known(values.shape):
        if not _broadcasts_to(weights.shape, values.shape):
            raise ShapeError(
                f"weights of shape {fmt(weights.shape)} do not broadcast to the values' "
                f"shape {fmt(values.shape)}",
                values,
            )
    return weights * array_ops.ones_like(values) if weights.shape != values.shape else weights


def _broadcasts_to(small: tuple[int, ...], big: tuple[int, ...]) -> bool:
    """Whether NumPy broadcasting stretches ``small`` to exactly ``big`` (known shapes)."""
    return len(small) <= len(big) and all(
        s in (1, b) for s, b in zip(reversed(small), reversed(big), strict=False)
    )


def _safe_div(numerator: Node, denominator: Node, name: str) -> Node:
    """``numerator / denominator`` where the denominator is positive, else 0 (no NaN)."""
    positive = greater(denominator, 0.0)
    safe = where(positive, denominator, array_ops.ones_like(denominator))
    return where(positive, numerator / safe, array_ops.zeros_like(numerator), name=name)


def _collect(value: Node, update_op: Node, metrics: Any, updates: Any) -> Metric:
    """Add the metric's value and update to the collections the caller names."""
    if metrics:
        value.graph.add_to_collections(metrics, value)
    if updates:
        value.graph.add_to_collections(updates, update_op)
    return value, update_op


def _count(condition: Node, weights: Any, scope: str) -> Metric:
    """A counter of the (weighted) true elements of ``condition``: (count, update)."""
    graph = condition.graph
    with graph.name_scope(scope):
        count = _metric_variable([], "count")
        counted = cast(condition, float32)
        if weights is not None:
            counted = counted * cast(convert_to_tensor(weights, graph=graph), float32)
        return count, assign_add(count, reduce_sum(counted))


# -- the metrics ----------------------------------------------------------------------------------
def mean(
    values: Any,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> Metric:
    """The (weighted) mean of all ``values`` seen: ``total / count``, 0 before any."""
    graph = _graph_of(values, weights)
    with graph.as_default(), graph.name_scope(name or "mean"):
        values = cast(convert_to_tensor(values), float32)
        total = _metric_variable([], "total")
        count = _metric_variable([], "count")
        if weights is None:
            num_values = cast(shape_ops.size(values), float32)
        else:
            weights = _broadcast_weights(weights, values)
            values = values * weights
            num_values = reduce_sum(weights)
        update_total = assign_add(total, reduce_sum(values))
        with control_dependencies([values]):
            update_count = assign_add(count, num_values)
        value = _safe_div(total, maximum(count, 0.0), "value")
        update_op = _safe_div(update_total, maximum(update_count, 0.0), "update_op")
    return _collect(value, update_op, metrics_collections, updates_collections)


def accuracy(
    labels: Any,
    predictions: Any,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> Metric:
    """The (weighted) fraction of predictions equal to their labels."""
    graph = _graph_of(labels, predictions)
    with graph.as_default():
        labels, predictions = _aligned(convert_to_tensor(labels), convert_to_tensor(predictions))
        if labels.dtype is not None and predictions.dtype != labels.dtype:
            predictions = cast(predictions, labels.dtype)
        is_correct = cast(equal(predictions, labels), float32)
        return mean(
            is_correct, weights, metrics_collections, updates_collections, name or "accuracy"
        )


def mean_squared_error(
    labels: Any,
    predictions: Any,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> Metric:
    """The (weighted) mean of ``(labels - predictions) ** 2`` over all elements seen."""
    graph = _graph_of(labels, predictions)
    with graph.as_default():
        labels, predictions = _aligned(convert_to_tensor(labels), convert_to_tensor(predictions))
        squared_error = squared_difference(labels, predictions)
        return mean(
            squared_error,
            weights,
            metrics_collections,
            updates_collections,
            name or "mean_squared_error",
        )


def _boolean_pair(labels: Any, predictions: Any) -> tuple[Node, Node]:
    """Labels and predictions as booleans (nonzero is true), squeezed and checked."""
    labels = cast(convert_to_tensor(labels), bool_)
    predictions = cast(convert_to_tensor(predictions), bool_)
    return _aligned(labels, predictions)


def precision(
    labels: Any,
    predictions: Any,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> Metric:
    """true positives / (true positives + false positives); 0 while nothing is predicted."""
    return _true_positive_share(
        labels,
        predictions,
        weights,
        (metrics_collections, updates_collections),
        name or "precision",
        missed_by_labels=True,
    )


def recall(
    labels: Any,
    predictions: Any,
    weights: Any = None,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    name: str | None = None,
) -> Metric:
    """true positives / (true positives + false negatives); 0 while no label is positive."""
    return _true_positive_share(
        labels,
        predictions,
        weights,
        (metrics_collections, updates_collections),
        name or "recall",
        missed_by_labels=False,
    )


def _true_positive_share(
    labels: Any,
    predictions: Any,
    weights: Any,
    collections: tuple[Any, Any],
    name: str,
    missed_by_labels: bool,
) -> Metric:
    """tp / (tp + other): the other count is the false positives (precision) or the false
    negatives (recall), each a local counter named as TF1 names it."""
    graph = _graph_of(labels, predictions)
    with graph.as_default(), graph.name_scope(name):
        labels, predictions = _boolean_pair(labels, predictions)
        tp, tp_update = _count(logical_and(labels, predictions), weights, "true_positives")
        if missed_by_labels:
            other_condition = logical_and(logical_not(labels), predictions)
            other_name = "false_positives"
        else:
            other_condition = logical_and(labels, logical_not(predictions))
            other_name = "false_negatives"
        other, other_update = _count(other_condition, weights, other_name)
        value = _safe_div(tp, tp + other, "value")
        update_op = _safe_div(tp_update, tp_update + other_update, "update_op")
    return _collect(value, update_op, *collections)


# -- auc ------------------------------------------------------------------------------------------
_AUC_CURVES = ("ROC", "PR")
_AUC_SUMMATIONS = ("trapezoidal", "careful_interpolation", "minoring", "majoring")


def _auc_thresholds(num_thresholds: int) -> np.ndarray:
    """TF1's thresholds: evenly spaced inside (0, 1), and just below 0 and above 1."""
    if num_thresholds < 2:
        raise InvalidArgumentError(f"auc() needs num_thresholds > 1, got {num_thresholds}")
    kepsilon = 1e-7
    inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    return np.array([0.0 - kepsilon, *inner, 1.0 + kepsilon], np.float32)


def _confusion_at_thresholds(
    labels: Node, predictions: Node, thresholds: np.ndarray, weights: Any
) -> tuple[dict[str, Node], dict[str, Node]]:
    """Counters of true/false positives/negatives at each threshold: (values, updates)."""
    graph = predictions.graph
    column = shape_ops.reshape(convert_to_tensor(thresholds, graph=graph), [-1, 1])
    predicted = greater(shape_ops.reshape(predictions, [1, -1]), column)
    actual = shape_ops.reshape(labels, [1, -1])
    weights_row = None
    if weights is not None:
        weights_row = shape_ops.reshape(_broadcast_weights(weights, predictions), [1, -1])
    conditions = {
        "tp": ("true_positives", logical_and(actual, predicted)),
        "fn": ("false_negatives", logical_and(actual, logical_not(predicted))),
        "tn": ("true_negatives", logical_and(logical_not(actual), logical_not(predicted))),
        "fp": ("false_positives", logical_and(logical_not(actual), predicted)),
    }
    values: dict[str, Node] = {}
    updates: dict[str, Node] = {}
    for key, (name, condition) in conditions.items():
        counter = _metric_variable([len(thresholds)], name)
        counted = cast(condition, float32)
        if weights_row is not None:
            counted = counted * weights_row
        values[key] = counter
        updates[key] = assign_add(counter, reduce_sum(counted, axis=1))
    return values, updates


def _interpolated_pr_area(counts: dict[str, Node], name: str) -> Node:
    """TF1's careful interpolation of the PR curve (Davis & Goadrich): between two thresholds
    precision is interpolated along the true positives, not linearly in recall."""
    tp, fp, fn = counts["tp"], counts["fp"], counts["fn"]
    size = tp.shape[0] - 1

    def left(t: Tensor) -> Tensor:
        return slice_ops.slice(t, [0], [size])

    def right(t: Tensor) -> Tensor:
        return slice_ops.slice(t, [1], [size])

    positives = tp + fp
    dtp = left(tp) - right(tp)
    slope = div_no_nan(dtp, maximum(left(positives) - right(positives), 0.0))
    intercept = right(tp) - slope * right(positives)
    both = logical_and(greater(left(positives), 0.0), greater(right(positives), 0.0))
    ratio = where(
        both,
        div_no_nan(left(positives), maximum(right(positives), 0.0)),
        array_ops.ones_like(right(positives)),
    )
    increments = div_no_nan(
        slope * (dtp + intercept * log(ratio)), maximum(right(tp) + right(fn), 0.0)
    )
    return reduce_sum(increments, name=name)


def _area(counts: dict[str, Node], curve: str, summation: str, name: str) -> Node:
    """The area under the curve through the points at each threshold (TF1's sums)."""
    if curve == "PR" and summation == "careful_interpolation":  # TF1 names it so, not by ``name``
        return _interpolated_pr_area(counts, "interpolate_pr_auc")
    epsilon = 1.0e-6
    tp, fn, tn, fp = counts["tp"], counts["fn"], counts["tn"], counts["fp"]
    rec = (tp + epsilon) / (tp + fn + epsilon)
    if curve == "ROC":
        x, y = fp / (fp + tn + epsilon), rec
    else:
        x, y = rec, (tp + epsilon) / (tp + fp + epsilon)
    size = tp.shape[0] - 1
    x_left, x_right = slice_ops.slice(x, [0], [size]), slice_ops.slice(x, [1], [size])
    y_left, y_right = slice_ops.slice(y, [0], [size]), slice_ops.slice(y, [1], [size])
    if summation == "minoring":
        heights = minimum(y_left, y_right)
    elif summation == "majoring":
        heights = maximum(y_left, y_right)
    else:
        heights = (y_left + y_right) / 2.0
    return reduce_sum((x_left - x_right) * heights, name=name)


def auc(
    labels: Any,
    predictions: Any,
    weights: Any = None,
    num_thresholds: int = 200,
    metrics_collections: Any = None,
    updates_collections: Any = None,
    curve: str = "ROC",
    name: str | None = None,
    summation_method: str = "trapezoidal",
) -> Metric:
    """The area under the ROC (or PR) curve, approximated by a Riemann sum over
    ``num_thresholds`` thresholds of the predictions (probabilities in [0, 1])."""
    if curve not in _AUC_CURVES:
        raise InvalidArgumentError(f"auc() curve must be one of {_AUC_CURVES}, got {curve!r}")
    if summation_method not in _AUC_SUMMATIONS:
        raise InvalidArgumentError(
            f"auc() summation_method must be one of {_AUC_SUMMATIONS}, got {summation_method!r}"
        )
    thresholds = _auc_thresholds(num_thresholds)
    graph = _graph_of(labels, predictions)
    with graph.as_default(), graph.name_scope(name or "auc"):
        labels = cast(convert_to_tensor(labels), bool_)
        predictions = cast(convert_to_tensor(predictions), float32)
        labels, predictions = _aligned(labels, predictions)
        values, updates = _confusion_at_thresholds(labels, predictions, thresholds, weights)
        value = _area(values, curve, summation_method, "value")
        update_op = _area(updates, curve, summation_method, "update_op")
    return _collect(value, update_op, metrics_collections, updates_collections)
