"""The perturbation study of the backprop notebook: nudge one parameter, watch the loss, fit the slope.

The slope of loss against a small change of one parameter estimates that parameter's
gradient the slow way; backpropagation gives all of them at once. A study puts the two side
by side::

    from chainrule.perturb import perturbation_study
    result = perturbation_study(loss, W1, (0, 0), feed={X: data})
    result.slope, result.gradient        # agree to ~1e-6 for a smooth loss
    result.plot("w1.png")
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .autodiff import gradients
from .errors import InvalidArgumentError
from .graph import Tensor
from .ops.state_ops import Variable, trainable_variables
from .runtime.session import Session, get_default_session

__all__ = [
    "PerturbationResult",
    "perturbation_study",
    "perturbation_studies",
    "table",
    "DEFAULT_DELTAS",
]

DEFAULT_DELTAS = np.linspace(-0.005, 0.005, 11)
Index = int | Sequence[int] | None


@dataclass(frozen=True)
class PerturbationResult:
    """The loss at ``base + delta`` for each delta, its fitted slope and backprop's gradient."""

    variable: Variable
    index: tuple[int, ...]
    deltas: np.ndarray
    losses: np.ndarray
    base_loss: float
    slope: float
    gradient: float

    @property
    def label(self) -> str:
        """``W1[0,1]`` (or just ``b`` for a scalar variable)."""
        if not self.index:
            return self.variable.op.name
        return f"{self.variable.op.name}[{','.join(map(str, self.index))}]"

    @property
    def difference(self) -> float:
        """How far the fitted slope is from the backprop gradient."""
        return abs(self.slope - self.gradient)

    def plot(self, path: str | os.PathLike, learning_rate: float = 0.002) -> Path:
        """Write the backprop notebook's picture: loss change per parameter change, slope, step arrow."""
        from .plots import perturbation

        return perturbation(self, path, learning_rate=learning_rate)

    def __str__(self) -> str:
        return (
            f"{self.label}: slope {self.slope:.6f}, backprop {self.gradient:.6f} "
            f"(difference {self.difference:.2e})"
        )


def _check_loss(loss: Any) -> Tensor:
    if not isinstance(loss, Tensor):
        raise InvalidArgumentError(f"loss must be a graph node, got {loss!r}")
    return loss


def _check_variable(variable: Any, loss: Tensor) -> Variable:
    if not isinstance(variable, Variable):
        raise InvalidArgumentError(
            f"perturbation studies change a Variable's value; got {variable!r}"
        )
    if variable.graph is not loss.graph:
        raise InvalidArgumentError("the variable belongs to another graph than the loss", variable)
    if variable.dtype is not None and variable.dtype.np.kind not in "fc":
        raise InvalidArgumentError(
            f"cannot perturb a variable of dtype {variable.dtype.name}; it must be floating",
            variable,
        )
    return variable


def _check_deltas(deltas: Any) -> np.ndarray:
    deltas = np.asarray(deltas, dtype=np.float64).reshape(-1)
    if len(np.unique(deltas)) < 2 or not np.all(np.isfinite(deltas)):
        raise InvalidArgumentError("deltas need at least two different finite values to fit")
    return deltas


def _element(index: Index, shape: tuple[int, ...], variable: Variable) -> tuple[int, ...]:
    """``index`` as a full tuple: a tuple per axis, a flat int, or ``None`` for one element."""
    size = int(np.prod(shape, dtype=np.int64))
    if index is None:
        if size != 1:
            raise InvalidArgumentError(
                f"the variable has {size} elements; say which one with index=", variable
            )
        return (0,) * len(shape)
    if isinstance(index, int | np.integer) and not isinstance(index, bool):
        if not -size <= index < size:
            raise InvalidArgumentError(
                f"flat index {index} is out of range for {size} elements", variable
            )
        return tuple(int(i) for i in np.unravel_index(int(index) % size, shape))
    index = tuple(index)
    if len(index) != len(shape) or any(
        not isinstance(i, int | np.integer) or not -n <= i < n
        for i, n in zip(index, shape, strict=False)
    ):
        raise InvalidArgumentError(
            f"index {index} does not name an element of shape {shape}", variable
        )
    return tuple(int(i) % n for i, n in zip(index, shape, strict=True))


def _scalar(value: Any, loss: Tensor) -> float:
    array = np.asarray(value)
    if array.size != 1:
        raise InvalidArgumentError(
            f"the loss must be a scalar to study, its value has shape {array.shape}", loss
        )
    return float(array.reshape(()))


@contextlib.contextmanager
def _session_for(loss: Tensor, session: Session | None) -> Iterator[Session]:
    """The given session, the default one for this graph, or a fresh one closed afterwards."""
    if session is None:
        default = get_default_session()
        if default is not None and default.graph is loss.graph:
            session = default
    if session is not None:
        yield session
        return
    fresh = Session(graph=loss.graph)
    try:
        yield fresh
    finally:
        fresh.close()


def _study(
    session: Session,
    loss: Tensor,
    variable: Variable,
    gradient: Tensor | None,
    index: Index,
    feed: dict | None,
    deltas: np.ndarray,
) -> PerturbationResult:
    """Move one element through ``deltas``, record the loss, restore the value, fit a line."""
    base = np.array(session.run(variable), copy=True)
    element = _element(index, base.shape, variable)
    grad_value = (
        0.0 if gradient is None else float(np.asarray(session.run(gradient, feed))[element])
    )
    base_loss = _scalar(session.run(loss, feed), loss)
    applied = np.empty_like(deltas)
    losses = np.empty_like(deltas)
    try:
        for i, delta in enumerate(deltas):
            moved = base.copy()
            moved[element] += delta
            applied[i] = float(moved[element]) - float(base[element])
            session.set_variable(variable, moved)
            losses[i] = _scalar(session.run(loss, feed), loss)
    finally:
        session.set_variable(variable, base)
    slope = float(np.polyfit(applied, losses - base_loss, 1)[0])
    return PerturbationResult(variable, element, applied, losses, base_loss, slope, grad_value)


def perturbation_study(
    loss: Tensor,
    variable: Variable,
    index: Index = None,
    feed: dict | None = None,
    session: Session | None = None,
    deltas: Any = DEFAULT_DELTAS,
) -> PerturbationResult:
    """The backprop notebook's study of one parameter: the loss for ``value + delta`` at each delta.

    ``index`` picks the element (a tuple, a flat int, or ``None`` for a one-element
    variable). The variable's value in ``session`` (default: the default session of this
    graph, else a fresh one) is restored afterwards. The result holds the losses, the
    slope of a degree-1 ``np.polyfit`` and backprop's gradient for that element.
    """
    loss = _check_loss(loss)
    variable = _check_variable(variable, loss)
    deltas = _check_deltas(deltas)
    gradient = gradients(loss, [variable])[0]
    with _session_for(loss, session) as active:
        return _study(active, loss, variable, gradient, index, feed, deltas)


def perturbation_studies(
    loss: Tensor,
    var_list: Sequence[Variable] | None = None,
    feed: dict | None = None,
    session: Session | None = None,
    deltas: Any = DEFAULT_DELTAS,
) -> list[PerturbationResult]:
    """A study for every element of every variable (the trainable ones by default)."""
    loss = _check_loss(loss)
    variables = [
        _check_variable(v, loss)
        for v in (trainable_variables(loss.graph) if var_list is None else var_list)
    ]
    deltas = _check_deltas(deltas)
    grads = gradients(loss, variables) if variables else []
    results = []
    with _session_for(loss, session) as active:
        for variable, gradient in zip(variables, grads, strict=True):
            size = int(np.asarray(active.run(variable)).size)
            for flat in range(size):
                results.append(_study(active, loss, variable, gradient, flat, feed, deltas))
    return results


def table(results: Sequence[PerturbationResult]) -> str:
    """Plain-text table: each parameter's fitted slope next to backprop's gradient."""
    width = max([len("parameter")] + [len(r.label) for r in results])
    lines = [f"{'parameter':<{width}}  {'slope':>12}  {'backprop':>12}  {'difference':>10}"]
    for r in results:
        lines.append(
            f"{r.label:<{width}}  {r.slope:>12.6f}  {r.gradient:>12.6f}  {r.difference:>10.2e}"
        )
    return "\n".join(lines)
