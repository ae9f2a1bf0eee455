"""The optimizer base class and the ops its updates are built from.

``Optimizer.minimize`` is ``compute_gradients`` then ``apply_gradients``: every gradient is
computed before any variable changes, then each variable is updated in place by one
``ApplyUpdate`` op (its kernel changes the variable and its slots), and a subclass may add
updates that run after all of them. Slots are non-trainable variables named as TF1 names them
(``W/Adam``, ``W/Momentum``...), created outside any name scope and filled by ``SlotFill``, so
a ``Saver`` saves and restores them with the model. A gradient that is another updated
variable's own memory (``d(u*v)/du`` is ``v``) is copied by the plan before the first update
of the step changes anything. The concrete optimizers are in ``optimizers.py``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from ..autodiff import gradients
from ..dtypes import DType
from ..errors import DTypeError, FailedPreconditionError, InvalidArgumentError, ShapeError
from ..graph import Graph, Tensor
from ..ops.array_ops import zeros_like
from ..ops.base import Operation, convert_to_tensor, default_dtype_for
from ..ops.math_ops import cast
from ..ops.registry import NotDifferentiable
from ..ops.shapes import Shape, fmt
from ..ops.state_ops import Variable, assign_add, check_fits, group, trainable_variables

__all__ = ["Optimizer", "ApplyUpdate", "SlotFill", "outside_scopes"]


# -- ops used by the optimizers --------------------------------------------------------------------
class ApplyUpdate(Operation):
    """An update op: ``apply(state arrays..., input values...)`` changes ``refs`` in place.

    ``refs`` are the variable and its slots; ``inputs`` are the gradient and hyper-parameters.
    Fetching it gives ``None``. Each optimizer's update is a subclass named as TF1 names the
    op (``ApplyAdam``...), so that its type is registered and has no gradient.
    """

    is_update = True
    pure = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        NotDifferentiable(cls.op_type)

    def __init__(
        self,
        refs: Sequence[Variable],
        inputs: Sequence[Any],
        apply: Callable[..., None],
        name: str | None = None,
    ):
        self.refs = tuple(refs)
        self.apply = apply
        graph = refs[0].graph
        super().__init__([convert_to_tensor(x, graph=graph) for x in inputs], name=name)

    def writes(self) -> tuple[Variable, ...]:
        return self.refs

    def write_check(self, context: Any) -> Callable[..., None]:
        """Every input (gradient, hyper-parameters) must broadcast into the variable's shape
        and cast to its dtype, the hyper-parameters must be scalars (as TF1 requires, when
        their shape was not known to check at build time), and the variable must hold a value."""
        store, var = context.store, self.refs[0]
        hyper_names = [tensor.op.name for tensor in self.inputs[1:]]

        def check_inputs(*values: Any) -> None:
            target = store.get(var)
            if target is None:
                raise FailedPreconditionError(
                    f"variable '{var.name}' is not initialised in this session", self
                )
            for value in values:
                check_fits(self, target, value)
            for name, value in zip(hyper_names, values[1:], strict=True):
                self._require_scalar(name, value)

        return check_inputs

    def _require_scalar(self, name: str, value: Any) -> None:
        if np.ndim(value) != 0:
            raise InvalidArgumentError(
                f"the hyper-parameter '{name}' must be a scalar, got a value of shape "
                f"{fmt(np.shape(value))}",
                self,
            )

    def bind(self, context: Any) -> Callable[..., None]:
        readers, apply = [context.store.reader(r) for r in self.refs], self.apply

        def run_update(*values: Any) -> None:
            apply(*[read() for read in readers], *values)

        return run_update


NotDifferentiable("ApplyUpdate")


class SlotFill(Operation):
    """A fresh array of a slot's shape filled with its initial value (zeros, ones, 0.1...).

    Built at initialisation time rather than stored as a constant, so that slots of large
    variables do not keep full-size arrays in the graph; never folded for the same reason.
    """

    op_type = "SlotFill"
    pure = False

    def __init__(self, shape: tuple[int, ...], value: float, dtype: DType, name: str):
        self.fill_shape = shape
        self.fill_value = value
        self.fill_dtype = dtype
        super().__init__([], name=name)

    def infer(self) -> tuple[Shape, DType | None]:
        return self.fill_shape, self.fill_dtype

    def compute(self) -> np.ndarray:
        return np.full(self.fill_shape, self.fill_value, dtype=self.fill_dtype.np)


NotDifferentiable("SlotFill")


# -- the base class ----------------------------------------------------------------------------
class Optimizer:
    """Base class: ``minimize`` = ``compute_gradients`` + ``apply_gradients``.

    Subclasses create their slots in ``_create_slots`` and build one update op per variable
    in ``_apply_dense``; ``_finish`` may add updates that run after all of them (Adam's powers).
    """

    GATE_NONE = 0
    GATE_OP = 1
    GATE_GRAPH = 2

    def __init__(self, use_locking: bool = False, name: str = "Optimizer"):
        if not name:
            raise InvalidArgumentError("an optimizer needs a name")
        self._name = name
        self._use_locking = use_locking
        self._slots: dict[str, dict[Variable, Variable]] = {}
        self._non_slots: dict[tuple[str, Graph], Variable] = {}
        self._hyper_cache: dict[tuple[str, DType], Tensor] = {}

    def get_name(self) -> str:
        return self._name

    # -- public API ----------------------------------------------------------------------------
    def compute_gradients(
        self,
        loss: Tensor,
        var_list: Sequence[Variable] | None = None,
        gate_gradients: int = GATE_OP,
        aggregation_method: Any = None,
        colocate_gradients_with_ops: bool = False,
        grad_loss: Any = None,
    ) -> list[tuple[Tensor | None, Variable]]:
        """``[(gradient, variable)]`` for the trainable variables (or ``var_list``).

        The gradient is ``None`` for a variable the loss does not depend on.
        """
        if not isinstance(loss, Tensor):
            raise InvalidArgumentError(f"the loss must be a graph node, got {loss!r}")
        if var_list is None:
            var_list = trainable_variables(loss.graph)
        var_list = _check_variables(var_list)
        if not var_list:
            raise InvalidArgumentError("there are no variables to optimize", loss)
        for var in var_list:
            if var.dtype is not None and not var.dtype.is_floating:
                raise DTypeError(
                    f"cannot optimize variable '{var.name}' of dtype {var.dtype.name}; "
                    "optimizers update floating-point variables",
                    var,
                )
        grads = gradients(loss, var_list, grad_ys=grad_loss)
        return list(zip(grads, var_list, strict=True))

    def apply_gradients(
        self,
        grads_and_vars: Iterable[tuple[Any, Variable]],
        global_step: Variable | None = None,
        name: str | None = None,
    ) -> Tensor:
        """An op that applies each gradient to its variable, then counts ``global_step``.

        Every gradient is computed before any variable changes. With ``global_step`` the op
        is its increment (fetching it gives the new step, as in TF1); without, it is a group
        and fetching it gives ``None``.
        """
        return self._apply_gradients(grads_and_vars, global_step, name, computed_first=())

    def _apply_gradients(
        self,
        grads_and_vars: Iterable[tuple[Any, Variable]],
        global_step: Variable | None,
        name: str | None,
        computed_first: Sequence[Tensor],
    ) -> Tensor:
        pairs = self._gradient_pairs(grads_and_vars)
        if global_step is not None and not isinstance(global_step, Variable):
            raise InvalidArgumentError(f"global_step must be a Variable, got {global_step!r}")
        graph = pairs[0][1].graph
        self._hyper_cache = {}
        with graph.as_default():
            with outside_scopes(graph):
                self._create_slots([v for _, v in pairs])
            with graph.name_scope(name or self._name):
                grads = [g for g, _ in pairs]
                with graph.control_dependencies([*computed_first, *grads]):
                    updates = [self._update(g, v) for g, (_, v) in zip(grads, pairs, strict=True)]
                finish = self._finish(updates, "update")
                if global_step is None:
                    return finish
                with graph.control_dependencies([finish]):
                    return assign_add(global_step, 1, name="increment_global_step").op

    def minimize(
        self,
        loss: Tensor,
        global_step: Variable | None = None,
        var_list: Sequence[Variable] | None = None,
        gate_gradients: int = GATE_OP,
        aggregation_method: Any = None,
        colocate_gradients_with_ops: bool = False,
        name: str | None = None,
        grad_loss: Any = None,
    ) -> Tensor:
        """An op that takes one step down the gradient of ``loss``."""
        grads_and_vars = self.compute_gradients(loss, var_list=var_list, grad_loss=grad_loss)
        if all(g is None for g, _ in grads_and_vars):
            names = ", ".join(f"'{v.name}'" for _, v in grads_and_vars)
            raise InvalidArgumentError(
                f"no gradients: the loss does not depend on any of the variables ({names})",
                loss,
            )
        # the loss is computed before any variable changes, so that fetching it together
        # with the training op gives the loss of the step's starting point
        return self._apply_gradients(grads_and_vars, global_step, name, computed_first=[loss])

    def _update(self, grad: Tensor, var: Variable) -> Tensor:
        """The update op of one variable, in the scope ``update_{var}`` as TF1 names it."""
        with var.graph.name_scope(f"update_{var.op.name}"):
            return self._apply_dense(grad, var)

    # -- slots ---------------------------------------------------------------------------------
    def get_slot(self, var: Variable, name: str) -> Variable | None:
        """The slot ``name`` ("m", "v", "momentum", "rms", "accumulator"...) of ``var``."""
        return self._slots.get(name, {}).get(var)

    def get_slot_names(self) -> list[str]:
        return sorted(self._slots)

    def variables(self) -> list[Variable]:
        """Every variable this optimizer created (slots and shared state such as Adam's powers)."""
        found = [v for slots in self._slots.values() for v in slots.values()]
        found.extend(self._non_slots.values())
        return sorted(found, key=lambda v: v.name)

    def _slot(self, var: Variable, slot_name: str, op_name: str, initial: float = 0.0) -> Variable:
        """The slot ``slot_name`` of ``var``, created as ``{var}/{op_name}`` filled with ``initial``."""
        slots = self._slots.setdefault(slot_name, {})
        if var not in slots:
            slots[var] = _make_slot(var, op_name, initial)
        return slots[var]

    def _non_slot(self, name: str, initial: float, like: Variable) -> Variable:
        """A variable shared by all updates of this optimizer in ``like``'s graph.

        Its dtype is the one TF1 gives the Python number ``initial`` (float32 for a float),
        whatever the variables' dtype: TF1's Adam keeps its beta powers in float32.
        """
        key = (name, like.graph)
        if key not in self._non_slots:
            with like.graph.as_default():
                self._non_slots[key] = Variable(initial, trainable=False, name=name)
        return self._non_slots[key]

    # -- hooks for subclasses ------------------------------------------------------------------
    def _create_slots(self, var_list: list[Variable]) -> None:
        """Create the slots and shared variables the updates need."""

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        raise NotImplementedError

    def _finish(self, update_ops: list[Tensor], name: str) -> Tensor:
        return group(*update_ops, name=name)

    def _hyper(self, name: str, value: Any, dtype: DType) -> Tensor:
        """Hyper-parameter ``value`` (number, node or callable) as a scalar of ``dtype``.

        As in TF1, a Python number becomes a tensor first (a float is float32) and is then
        cast to the variable's dtype, so float64 variables see the float32-rounded rate.
        """
        key = (name, dtype)
        if key not in self._hyper_cache:
            if callable(value) and not isinstance(value, Tensor):
                value = value()
            node = convert_to_tensor(value, name=name, dtype_hint=default_dtype_for(value))
            if node.dtype is None or node.dtype != dtype:
                node = cast(node, dtype, name=name)
            if node.shape is not None and len(node.shape) != 0:
                raise ShapeError(f"{name} must be a scalar, got shape {fmt(node.shape)}", node)
            self._hyper_cache[key] = node
        return self._hyper_cache[key]

    def _gradient_pairs(
        self, grads_and_vars: Iterable[tuple[Any, Variable]]
    ) -> list[tuple[Tensor, Variable]]:
        """The (gradient node, variable) pairs that have a gradient, checked."""
        grads_and_vars = list(grads_and_vars)
        if not grads_and_vars:
            raise InvalidArgumentError("apply_gradients() got no (gradient, variable) pairs")
        _check_variables([v for _, v in grads_and_vars])
        pairs = []
        for grad, var in grads_and_vars:
            if grad is None:
                continue
            grad = convert_to_tensor(grad, graph=var.graph, dtype_hint=var.dtype)
            _check_gradient_shape(grad, var)
            pairs.append((grad, var))
        if not pairs:
            names = ", ".join(f"'{v.name}'" for _, v in grads_and_vars)
            raise InvalidArgumentError(f"no gradients provided for any variable ({names})")
        return pairs


def _check_variables(var_list: Iterable[Any]) -> list[Variable]:
    var_list = list(var_list)
    seen: set[Variable] = set()
    for var in var_list:
        if not isinstance(var, Variable):
            raise InvalidArgumentError(f"optimizers update Variables; got {var!r}")
        if var in seen:
            raise InvalidArgumentError(f"variable '{var.name}' is listed twice", var)
        seen.add(var)
    return var_list


def _check_gradient_shape(grad: Tensor, var: Variable) -> None:
    if grad.shape is None or var.shape is None:
        return
    if len(grad.shape) != len(var.shape) or any(
        a is not None and b is not None and a != b
        for a, b in zip(grad.shape, var.shape, strict=True)
    ):
        raise ShapeError(
            f"the gradient has shape {fmt(grad.shape)} but variable '{var.name}' has shape "
            f"{fmt(var.shape)}",
            grad,
        )


@contextlib.contextmanager
def outside_scopes(graph: Graph) -> Iterator[None]:
    """Build at the top of ``graph``: no name scope, no control dependencies (TF1's init_scope).

    Slots are named after their variable (``W/Adam``) wherever ``minimize`` is called.
    """
    with graph.top_level_name_scope(), graph.control_dependencies(None):
        yield


def _make_slot(var: Variable, op_name: str, initial: float) -> Variable:
    """A non-trainable variable shaped like ``var``, named ``{var}/{op_name}`` as TF1 does."""
    name = _unused_name(var.graph, f"{var.op.name}/{op_name}")
    if var.shape is not None and None not in var.shape:
        value: Tensor = SlotFill(tuple(var.shape), initial, var.dtype, name=f"{name}/Initializer")
    else:
        value = zeros_like(var) + initial
    return Variable(value, trainable=False, name=name, dtype=var.dtype, shape=var.shape)


def _unused_name(graph: Graph, base: str) -> str:
    """``base``, or ``base_1``, ``base_2``... : the first name no node of ``graph`` has."""
    name, count = base, 0
    while name in graph._by_name:
        count += 1
        name = f"{base}_{count}"
    return name
