"""Training pictures written as PNG: loss curves, 2-D decision boundaries, perturbation studies.

Drawn with matplotlib's Agg canvas directly (no pyplot, no GUI, no global backend switch),
imported on first use; matplotlib comes with the ``viz`` extra.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .data import require_module
from .errors import InvalidArgumentError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .perturb import PerturbationResult

__all__ = ["loss_curve", "decision_boundary", "perturbation"]

# class 0 is the tutorials' blue cloud, class 1 the red one; more classes use tab10
_CLASS_COLORS = ["#1f5fbf", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"]
_REGION_COLORS = ["#c6d9f5", "#f7c9c9", "#cdeccd", "#ffe0bf", "#e2d6ef", "#e6d5cf", "#f8d8ee"]


def _new_figure(width: float, height: float) -> Figure:
    """A figure on its own Agg canvas, independent of any pyplot state."""
    require_module("matplotlib", "viz", "chainrule.plots", "matplotlib")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, format="png")
    return path


def _as_curves(losses: Sequence[float] | Mapping[str, Sequence[float]]) -> dict[str, np.ndarray]:
    items = losses.items() if isinstance(losses, Mapping) else [("loss", losses)]
    curves = {}
    for name, values in items:
        array = np.asarray(values, dtype=np.float64).reshape(-1)
        if array.size == 0:
            raise InvalidArgumentError(f"loss_curve: the '{name}' curve has no values")
        curves[str(name)] = array
    return curves


def loss_curve(
    losses: Sequence[float] | Mapping[str, Sequence[float]],
    path: str | os.PathLike,
    title: str = "Training loss",
    xlabel: str = "step",
    log_scale: bool | None = None,
) -> Path:
    """Plot one loss series (or ``{name: series}``) against the step; returns the PNG path.

    ``log_scale=None`` picks a log axis when positive losses span more than two decades.
    """
    curves = _as_curves(losses)
    figure = _new_figure(6.0, 4.0)
    axes = figure.add_subplot()
    for name, values in curves.items():
        axes.plot(np.arange(len(values)), values, label=name, linewidth=1.5)
    if log_scale is None:
        everything = np.concatenate(list(curves.values()))
        finite = everything[np.isfinite(everything)]
        log_scale = bool(finite.size and finite.min() > 0 and finite.max() / finite.min() > 100)
    if log_scale:
        axes.set_yscale("log")
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel("loss")
    axes.grid(True, alpha=0.3)
    if len(curves) > 1:
        axes.legend()
    return _save(figure, path)


def _check_points(X: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    labels = np.asarray(labels).reshape(-1)
    if X.ndim != 2 or X.shape[1] != 2:
        raise InvalidArgumentError(
            f"decision_boundary draws 2-D data: X must have shape (n, 2), got {X.shape}"
        )
    if len(labels) != len(X):
        raise InvalidArgumentError(f"{len(X)} points but {len(labels)} labels")
    return X, labels.astype(np.int64)


def _grid(X: np.ndarray, resolution: int, padding: float) -> tuple[np.ndarray, np.ndarray]:
    low, high = X.min(axis=0) - padding, X.max(axis=0) + padding
    xs = np.linspace(low[0], high[0], resolution)
    ys = np.linspace(low[1], high[1], resolution)
    return np.meshgrid(xs, ys)


def _predicted_classes(predict_fn: Callable[[np.ndarray], Any], points: np.ndarray) -> np.ndarray:
    """Classes of all grid points from one call: scores (m, k) are argmaxed, labels kept."""
    scores = np.asarray(predict_fn(points))
    if scores.ndim == 2 and scores.shape[0] == len(points):
        if scores.shape[1] == 1:
            return (scores[:, 0] > 0.5).astype(np.int64)
        return scores.argmax(axis=1)
    if scores.ndim == 1 and scores.shape[0] == len(points):
        return np.rint(scores).astype(np.int64)
    raise InvalidArgumentError(
        f"predict_fn got {len(points)} points of shape (m, 2) and returned shape "
        f"{scores.shape}; return (m, classes) scores or (m,) labels"
    )


def decision_boundary(
    predict_fn: Callable[[np.ndarray], Any],
    X: Any,
    labels: Any,
    path: str | os.PathLike,
    title: str = "Decision boundary",
    resolution: int = 200,
    padding: float = 0.5,
) -> Path:
    """Shade the class ``predict_fn`` gives every point of a grid over 2-D ``X``; plot ``X``.

    ``predict_fn`` is called once, on the ``resolution**2`` grid points followed by ``X``, as
    one (m, 2) float64 array (one batched ``session.run``), and returns class scores (m, k)
    or labels (m,). The title reports the accuracy on ``X``.
    """
    X, labels = _check_points(X, labels)
    gx, gy = _grid(X, resolution, padding)
    grid_points = np.column_stack((gx.ravel(), gy.ravel()))
    everything = _predicted_classes(predict_fn, np.concatenate((grid_points, X)))
    classes, fitted = everything[: len(grid_points)], everything[len(grid_points) :]
    n_classes = int(max(classes.max(initial=0), labels.max(initial=0))) + 1
    from matplotlib.colors import ListedColormap

    regions = ListedColormap([_REGION_COLORS[i % len(_REGION_COLORS)] for i in range(n_classes)])
    figure = _new_figure(5.5, 5.0)
    axes = figure.add_subplot()
    grid_classes = classes.reshape(gx.shape)
    levels = np.arange(n_classes + 1) - 0.5
    axes.contourf(gx, gy, grid_classes, levels=levels, cmap=regions)
    if n_classes > 1:
        axes.contour(gx, gy, grid_classes, levels=levels[1:-1], colors="k", linewidths=1.0)
    for k in range(n_classes):
        chosen = labels == k
        axes.scatter(
            X[chosen, 0],
            X[chosen, 1],
            s=18,
            color=_CLASS_COLORS[k % len(_CLASS_COLORS)],
            edgecolors="white",
            linewidths=0.4,
            label=f"class {k}",
        )
    accuracy = float(np.mean(fitted == labels))
    axes.set_title(f"{title} (accuracy {accuracy:.0%})")
    axes.set_xlabel("$x_1$")
    axes.set_ylabel("$x_2$")
    axes.legend(loc="upper right", fontsize="small")
    return _save(figure, path)


def _draw_perturbation(axes: Axes, result: PerturbationResult, learning_rate: float) -> None:
    """One panel as in the backprop notebook: loss change per parameter change, fitted slope, step arrow."""
    change = result.losses - result.base_loss
    axes.plot(result.deltas, change, "o", color=_CLASS_COLORS[0], markersize=4)
    span = np.array([result.deltas.min(), result.deltas.max()])
    axes.plot(span, result.slope * span, "-", color="0.5", linewidth=1, label="fitted slope")
    axes.plot(span, result.gradient * span, "--", color="k", linewidth=1, label="backprop")
    dx = -result.slope * learning_rate
    axes.annotate(
        "",
        xy=(dx, dx * result.slope),
        xytext=(0, 0),
        arrowprops={"arrowstyle": "->", "color": _CLASS_COLORS[1], "linewidth": 1.2},
        annotation_clip=False,
    )
    axes.set_title(f"{result.label}: slope {result.slope:.4g}", fontsize="medium")
    axes.set_xlabel("change in parameter")
    axes.set_ylabel("change in loss")
    axes.grid(True, alpha=0.3)


def perturbation(
    results: PerturbationResult | Sequence[PerturbationResult],
    path: str | os.PathLike,
    learning_rate: float = 0.002,
) -> Path:
    """Plot one perturbation study or a grid of them; the red arrow is the step ``-lr * slope``."""
    from .perturb import PerturbationResult

    items = [results] if isinstance(results, PerturbationResult) else list(results)
    if not items:
        raise InvalidArgumentError("perturbation: no results to plot")
    columns = min(4, len(items))
    rows = -(-len(items) // columns)
    figure = _new_figure(3.2 * columns, 2.8 * rows)
    for i, result in enumerate(items):
        _draw_perturbation(figure.add_subplot(rows, columns, i + 1), result, learning_rate)
    figure.axes[0].legend(fontsize="x-small", loc="best")
    return _save(figure, path)
