"""Optimizers with TF1's update formulas and defaults, so that the same program gives the same
numbers: gradient descent, momentum (optionally Nesterov), Adam, RMSProp, Adagrad; and the
global step and learning-rate schedules that go with them.

Each optimizer's update of one variable is one ``ApplyUpdate`` op that changes the variable and
its slots in place (the NumPy kernels below follow the expressions of TF1's ``training_ops``
kernels); the base class and the ops are in ``optimizer.py``.

Hyper-parameters become tensors as in TF1 (a Python float is float32) and are then cast to
each variable's dtype, so float64 variables see float32-rounded rates, exactly as in TF1.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ..dtypes import DType, float32, int32, int64
from ..errors import DTypeError, InvalidArgumentError, NotFoundError
from ..graph import Graph, GraphKeys, InplaceKernel, Node, PlanValue, Tensor, get_default_graph
from ..ops.base import convert_to_tensor, default_dtype_for
from ..ops.init_ops import zeros_initializer
from ..ops.logic_ops import equal, greater, where
from ..ops.math_ops import add, cast, ceil, cos, divide, exp, floor, minimum, multiply, negative
from ..ops.math_ops import pow as raise_to_power
from ..ops.state_ops import Variable, assign, get_variable, group
from .optimizer import ApplyUpdate, Optimizer, outside_scopes

__all__ = [
    "GradientDescentOptimizer",
    "MomentumOptimizer",
    "AdamOptimizer",
    "RMSPropOptimizer",
    "AdagradOptimizer",
    "get_global_step",
    "create_global_step",
    "get_or_create_global_step",
    "exponential_decay",
]


def _var_dtype(var: Variable) -> DType:
    if var.dtype is None:
        raise DTypeError("optimizers need variables of a known dtype", var)
    return var.dtype


# -- update kernels (in place, in the order of TF1's kernels) --------------------------------------
def gradient_descent_kernel(var: np.ndarray, grad: Any, lr: Any) -> None:
    """``var -= lr * grad``: the kernel of ``ApplyGradientDescent``."""
    var -= lr * grad


class ApplyGradientDescent(ApplyUpdate):
    """``var -= lr * grad``. Where the gradient is a fresh array that dies at this update, a
    plan scales it in place instead (``grad *= lr; var -= grad``): no temporary of the
    variable's size."""

    def __init__(self, var: Variable, grad: Any, lr: Any):
        super().__init__([var], [grad, lr], gradient_descent_kernel)

    def inplace_kernel(self, args: Sequence[PlanValue], store: Any) -> InplaceKernel | None:
        grad, lr = args
        var = self.refs[0]
        if var.dtype is None or var.shape is None or grad.dtype != var.dtype.np:
            return None
        if grad.sym != tuple(var.shape) or lr.sym != () or lr.dtype != grad.dtype:
            return None
        return InplaceKernel((0,), _descent_consuming_gradient(store.reader(var)))


class ApplyMomentum(ApplyUpdate):
    """Momentum's update of a variable and its accumulator (Nesterov's too)."""


class ApplyAdam(ApplyUpdate):
    """Adam's update of a variable and its two moment slots."""


class ApplyRMSProp(ApplyUpdate):
    """RMSProp's update of a variable, its mean square and its momentum."""


class ApplyCenteredRMSProp(ApplyUpdate):
    """Centered RMSProp's update, which also keeps the mean gradient."""


class ApplyAdagrad(ApplyUpdate):
    """Adagrad's update of a variable and its accumulator."""


def _descent_consuming_gradient(read: Callable[[], np.ndarray]) -> Callable[[Any, Any], None]:
    multiply, subtract = np.multiply, np.subtract

    def descend_consuming_gradient(grad: np.ndarray, lr: Any) -> None:
        multiply(grad, lr, out=grad)
        value = read()
        subtract(value, grad, out=value)

    return descend_consuming_gradient


def _momentum(var: np.ndarray, accum: np.ndarray, grad: Any, lr: Any, momentum: Any) -> None:
    accum *= momentum
    accum += grad
    var -= accum * lr


def _nesterov_momentum(
    var: np.ndarray, accum: np.ndarray, grad: Any, lr: Any, momentum: Any
) -> None:
    accum *= momentum
    accum += grad
    var -= grad * lr + accum * momentum * lr


def _adam(
    var: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    grad: Any,
    lr: Any,
    beta1: Any,
    beta2: Any,
    epsilon: Any,
    beta1_power: Any,
    beta2_power: Any,
) -> None:
    alpha = lr * np.sqrt(1 - beta2_power) / (1 - beta1_power)
    m += (grad - m) * (1 - beta1)
    v += (np.square(grad) - v) * (1 - beta2)
    var -= (m * alpha) / (np.sqrt(v) + epsilon)


def _rms_prop(
    var: np.ndarray,
    ms: np.ndarray,
    mom: np.ndarray,
    grad: Any,
    lr: Any,
    rho: Any,
    momentum: Any,
    epsilon: Any,
) -> None:
    ms += (np.square(grad) - ms) * (1 - rho)
    mom *= momentum
    mom += (grad * lr) / np.sqrt(ms + epsilon)
    var -= mom


def _centered_rms_prop(
    var: np.ndarray,
    mg: np.ndarray,
    ms: np.ndarray,
    mom: np.ndarray,
    grad: Any,
    lr: Any,
    rho: Any,
    momentum: Any,
    epsilon: Any,
) -> None:
    ms += (np.square(grad) - ms) * (1 - rho)
    mg += (grad - mg) * (1 - rho)
    mom *= momentum
    mom += (grad * lr) / np.sqrt((ms - np.square(mg)) + epsilon)
    var -= mom


def _adagrad(var: np.ndarray, accum: np.ndarray, grad: Any, lr: Any) -> None:
    accum += np.square(grad)
    var -= grad * lr / np.sqrt(accum)


# -- the optimizers --------------------------------------------------------------------------------
class GradientDescentOptimizer(Optimizer):
    """``var -= learning_rate * grad``."""

    def __init__(
        self, learning_rate: Any, use_locking: bool = False, name: str = "GradientDescent"
    ):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        lr = self._hyper("learning_rate", self._learning_rate, _var_dtype(var))
        return ApplyGradientDescent(var, grad, lr)


class MomentumOptimizer(Optimizer):
    """``accum = accum * momentum + grad; var -= lr * accum``.

    With ``use_nesterov``: ``var -= lr * grad + lr * momentum * accum`` (the new accum).
    The slot is ``"momentum"``, named ``{var}/Momentum``.
    """

    def __init__(
        self,
        learning_rate: Any,
        momentum: Any,
        use_locking: bool = False,
        name: str = "Momentum",
        use_nesterov: bool = False,
    ):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._momentum = momentum
        self._use_nesterov = use_nesterov

    def _create_slots(self, var_list: list[Variable]) -> None:
        for var in var_list:
            self._slot(var, "momentum", self._name)

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        dtype = _var_dtype(var)
        lr = self._hyper("learning_rate", self._learning_rate, dtype)
        momentum = self._hyper("momentum", self._momentum, dtype)
        accum = self.get_slot(var, "momentum")
        kernel = _nesterov_momentum if self._use_nesterov else _momentum
        return ApplyMomentum([var, accum], [grad, lr, momentum], kernel)


class AdamOptimizer(Optimizer):
    """Adam (Kingma and Ba), as TF1 computes it.

    ``lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)``, ``m = beta1 * m + (1 - beta1) * g``,
    ``v = beta2 * v + (1 - beta2) * g^2``, ``var -= lr_t * m / (sqrt(v) + epsilon)``.
    Slots ``"m"`` and ``"v"`` are named ``{var}/Adam`` and ``{var}/Adam_1``; ``beta1^t`` and
    ``beta2^t`` live in the variables ``beta1_power`` and ``beta2_power``, multiplied by the
    betas after every variable has been updated.
    """

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta1: Any = 0.9,
        beta2: Any = 0.999,
        epsilon: Any = 1e-08,
        use_locking: bool = False,
        name: str = "Adam",
    ):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._beta1 = beta1
        self._beta2 = beta2
        self._epsilon = epsilon

    def _create_slots(self, var_list: list[Variable]) -> None:
        first = min(var_list, key=lambda v: v.name)
        self._non_slot("beta1_power", _initial_number(self._beta1), first)
        self._non_slot("beta2_power", _initial_number(self._beta2), first)
        for var in var_list:
            self._slot(var, "m", self._name)
            self._slot(var, "v", self._name)

    def _beta_powers(self, graph: Graph) -> tuple[Variable, Variable]:
        return self._non_slots[("beta1_power", graph)], self._non_slots[("beta2_power", graph)]

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        dtype = _var_dtype(var)
        beta1_power, beta2_power = self._beta_powers(var.graph)
        inputs = [
            grad,
            self._hyper("learning_rate", self._learning_rate, dtype),
            self._hyper("beta1", self._beta1, dtype),
            self._hyper("beta2", self._beta2, dtype),
            self._hyper("epsilon", self._epsilon, dtype),
            cast(beta1_power, dtype),
            cast(beta2_power, dtype),
        ]
        refs = [var, self.get_slot(var, "m"), self.get_slot(var, "v")]
        return ApplyAdam(refs, inputs, _adam)

    def _finish(self, update_ops: list[Tensor], name: str) -> Tensor:
        graph = update_ops[0].graph
        beta1_power, beta2_power = self._beta_powers(graph)
        # the products read powers that no update changes: computed with the gradients, they
        # leave nothing that can fail once the run starts writing
        products = [
            (power, power * self._hyper(f"{beta}_power_factor", factor, power.dtype))
            for power, beta, factor in (
                (beta1_power, "beta1", self._beta1),
                (beta2_power, "beta2", self._beta2),
            )
        ]
        with graph.control_dependencies(update_ops):
            powers = [assign(power, product) for power, product in products]
        return group(*update_ops, *powers, name=name)


def _initial_number(value: Any) -> float:
    """The value a power accumulator starts from (a hyper-parameter that is a number)."""
    if isinstance(value, Tensor) or callable(value):
        raise InvalidArgumentError(
            "Adam's beta1 and beta2 must be numbers (their powers are stored in variables)"
        )
    return float(value)


class RMSPropOptimizer(Optimizer):
    """RMSProp as TF1 computes it (epsilon inside the square root).

    ``ms = decay * ms + (1 - decay) * g^2``; ``mom = momentum * mom + lr * g / sqrt(ms + eps)``;
    ``var -= mom``. With ``centered``, ``mg = decay * mg + (1 - decay) * g`` and the denominator
    is ``sqrt(ms - mg^2 + eps)``. Slots: ``"rms"`` (starts at ones), ``"mg"`` when centered,
    ``"momentum"``, named ``{var}/RMSProp``, ``{var}/RMSProp_1``...
    """

    def __init__(
        self,
        learning_rate: Any,
        decay: Any = 0.9,
        momentum: Any = 0.0,
        epsilon: Any = 1e-10,
        use_locking: bool = False,
        centered: bool = False,
        name: str = "RMSProp",
    ):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._decay = decay
        self._momentum = momentum
        self._epsilon = epsilon
        self._centered = centered

    def _create_slots(self, var_list: list[Variable]) -> None:
        for var in var_list:
            self._slot(var, "rms", self._name, initial=1.0)
            if self._centered:
                self._slot(var, "mg", self._name)
            self._slot(var, "momentum", self._name)

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        dtype = _var_dtype(var)
        inputs = [
            grad,
            self._hyper("learning_rate", self._learning_rate, dtype),
            self._hyper("decay", self._decay, dtype),
            self._hyper("momentum", self._momentum, dtype),
            self._hyper("epsilon", self._epsilon, dtype),
        ]
        rms, mom = self.get_slot(var, "rms"), self.get_slot(var, "momentum")
        if self._centered:
            refs = [var, self.get_slot(var, "mg"), rms, mom]
            return ApplyCenteredRMSProp(refs, inputs, _centered_rms_prop)
        return ApplyRMSProp([var, rms, mom], inputs, _rms_prop)


class AdagradOptimizer(Optimizer):
    """``accum += g^2; var -= lr * g / sqrt(accum)``; the slot ``"accumulator"`` is ``{var}/Adagrad``."""

    def __init__(
        self,
        learning_rate: Any,
        initial_accumulator_value: float = 0.1,
        use_locking: bool = False,
        name: str = "Adagrad",
    ):
        if initial_accumulator_value <= 0.0:
            raise InvalidArgumentError(
                f"initial_accumulator_value must be positive: {initial_accumulator_value}"
            )
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._initial_accumulator_value = initial_accumulator_value

    def _create_slots(self, var_list: list[Variable]) -> None:
        for var in var_list:
            self._slot(var, "accumulator", self._name, initial=self._initial_accumulator_value)

    def _apply_dense(self, grad: Tensor, var: Variable) -> Tensor:
        lr = self._hyper("learning_rate", self._learning_rate, _var_dtype(var))
        accum = self.get_slot(var, "accumulator")
        return ApplyAdagrad([var, accum], [grad, lr], _adagrad)


# -- global step and learning-rate schedules -------------------------------------------------------
def get_global_step(graph: Graph | None = None) -> Variable | None:
    """The graph's global step variable, or ``None`` if it has none."""
    graph = graph or get_default_graph()
    found = graph.get_collection(GraphKeys.GLOBAL_STEP)
    if len(found) > 1:
        raise InvalidArgumentError("the graph has several variables in its global_step collection")
    if found:
        step = found[0]
    else:
        try:
            step = graph.get_tensor_by_name("global_step:0")
        except NotFoundError:
            return None
    if step.dtype is None or not step.dtype.is_integer:
        raise DTypeError("the global step must be an integer variable", step)
    return step


def create_global_step(graph: Graph | None = None) -> Variable:
    """Create the int64 variable ``global_step`` (0, not trainable); an error if it exists.

    As in TF1 it is made by ``get_variable``: outside any name scope, but inside the current
    variable scope (``net/global_step`` under ``variable_scope("net")``).
    """
    graph = graph or get_default_graph()
    if get_global_step(graph) is not None:
        raise InvalidArgumentError("the graph already has a global step")
    with graph.as_default(), outside_scopes(graph):
        return get_variable(
            "global_step",
            shape=[],
            dtype=int64,
            initializer=zeros_initializer(),
            trainable=False,
            collections=[GraphKeys.GLOBAL_VARIABLES, GraphKeys.GLOBAL_STEP],
        )


def get_or_create_global_step(graph: Graph | None = None) -> Variable:
    """The graph's global step, created if missing."""
    step = get_global_step(graph)
    return create_global_step(graph) if step is None else step


def exponential_decay(
    learning_rate: Any,
    global_step: Any,
    decay_steps: Any,
    decay_rate: Any,
    staircase: bool = False,
    name: str | None = None,
) -> Tensor:
    """``learning_rate * decay_rate ** (global_step / decay_steps)`` (the exponent floored
    with ``staircase``), as a node that follows ``global_step``."""
    with _schedule_scope(global_step, "exponential_decay", name or "ExponentialDecay"):
        lr = _learning_rate_node(learning_rate)
        p = _progress(global_step, decay_steps, lr.dtype, staircase)
        return multiply(
            lr, raise_to_power(_in_dtype(decay_rate, lr.dtype), p), name="decayed_learning_rate"
        )


def natural_exp_decay(
    learning_rate: Any,
    global_step: Any,
    decay_steps: Any,
    decay_rate: Any,
    staircase: bool = False,
    name: str | None = None,
) -> Node:
    """``learning_rate * exp(-decay_rate * global_step / decay_steps)``, TF1's way:
    ``exp(-decay_rate)`` in ``decay_rate``'s own dtype, raised to the progress."""
    with _schedule_scope(global_step, "natural_exp_decay", name or "ExponentialDecay"):
        lr = _learning_rate_node(learning_rate)
        rate = exp(negative(_tf1_tensor(decay_rate)))
        p = _progress(global_step, decay_steps, lr.dtype, staircase)
        return multiply(lr, raise_to_power(cast(rate, lr.dtype), p), name="decayed_learning_rate")


def inverse_time_decay(
    learning_rate: Any,
    global_step: Any,
    decay_steps: Any,
    decay_rate: Any,
    staircase: bool = False,
    name: str | None = None,
) -> Node:
    """``learning_rate / (1 + decay_rate * global_step / decay_steps)`` (the progress floored
    with ``staircase``)."""
    with _schedule_scope(global_step, "inverse_time_decay", name or "InverseTimeDecay"):
        lr = _learning_rate_node(learning_rate)
        p = _progress(global_step, decay_steps, lr.dtype, staircase)
        denominator = add(_in_dtype(1, lr.dtype), multiply(_in_dtype(decay_rate, lr.dtype), p))
        return divide(lr, denominator, name="decayed_learning_rate")


def polynomial_decay(
    learning_rate: Any,
    global_step: Any,
    decay_steps: Any,
    end_learning_rate: Any = 0.0001,
    power: Any = 1.0,
    cycle: bool = False,
    name: str | None = None,
) -> Node:
    """From ``learning_rate`` to ``end_learning_rate`` along ``(1 - step / decay_steps) **
    power``; then constant, or with ``cycle`` again over the next multiple of ``decay_steps``."""
    with _schedule_scope(global_step, "polynomial_decay", name or "PolynomialDecay"):
        lr = _learning_rate_node(learning_rate)
        end = _in_dtype(end_learning_rate, lr.dtype)
        step = _in_dtype(global_step, lr.dtype)
        steps = _in_dtype(decay_steps, lr.dtype)
        if cycle:
            cycles = ceil(_over_steps(step, decay_steps, lr.dtype))
            p = divide(step, multiply(steps, where(equal(step, 0.0), 1.0, cycles)))
        else:
            p = _over_steps(minimum(step, steps), decay_steps, lr.dtype)
        decayed = multiply(lr - end, raise_to_power(1 - p, _in_dtype(power, lr.dtype)))
        return add(decayed, end, name="decayed_learning_rate")


def cosine_decay(
    learning_rate: Any,
    global_step: Any,
    decay_steps: Any,
    alpha: float = 0.0,
    name: str | None = None,
) -> Node:
    """Half a cosine from ``learning_rate`` down to ``alpha * learning_rate`` over
    ``decay_steps``, then constant."""
    with _schedule_scope(global_step, "cosine_decay", name or "CosineDecay"):
        lr = _learning_rate_node(learning_rate)
        step = minimum(_in_dtype(global_step, lr.dtype), _in_dtype(decay_steps, lr.dtype))
        fraction = _over_steps(step, decay_steps, lr.dtype)
        cosine = 0.5 * (1.0 + cos(_in_dtype(math.pi, lr.dtype) * fraction))
        return multiply(lr, (1 - alpha) * cosine + alpha, name="decayed_learning_rate")


def piecewise_constant(
    x: Any, boundaries: Sequence[Any], values: Sequence[Any], name: str | None = None
) -> Node:
    """``values[0]`` while ``x <= boundaries[0]``, ``values[i]`` while ``boundaries[i-1] < x
    <= boundaries[i]``, ``values[-1]`` after the last boundary (boundaries ascending)."""
    if len(boundaries) != len(values) - 1:
        raise InvalidArgumentError(
            "piecewise_constant needs one boundary less than values: got "
            f"{len(boundaries)} boundaries and {len(values)} values"
        )
    graph = x.graph if isinstance(x, Tensor) else get_default_graph()
    with graph.as_default(), graph.name_scope(name or "PiecewiseConstant"):
        x = _tf1_tensor(x)
        limits = [_boundary_like(x, b) for b in boundaries]
        pieces = _same_dtype_values(values)
        result = pieces[0]
        for limit, value in zip(limits, pieces[1:], strict=True):
            result = where(greater(x, limit), value, result)
        return result


def _boundary_like(x: Node, boundary: Any) -> Node:
    """A boundary in ``x``'s dtype: only int32 is promoted (to int64), as in TF1, so that a
    float boundary is never silently truncated to an integer step."""
    limit = _tf1_tensor(boundary)
    if limit.dtype == x.dtype:
        return limit
    if limit.dtype == int32 and x.dtype == int64:
        return cast(limit, int64)
    raise InvalidArgumentError(
        f"boundaries must have the dtype of x ({_dtype_name(x)}), got {_dtype_name(limit)}"
    )


def _same_dtype_values(values: Sequence[Any]) -> list[Node]:
    """``values`` as nodes, which must share one dtype (TF1 converts none of them)."""
    pieces = [_tf1_tensor(v) for v in values]
    for piece in pieces[1:]:
        if piece.dtype != pieces[0].dtype:
            raise InvalidArgumentError(
                "values must all have one dtype, got "
                f"{_dtype_name(pieces[0])} and {_dtype_name(piece)}"
            )
    return pieces


def _dtype_name(node: Node) -> str:
    return node.dtype.name if node.dtype is not None else "an unknown dtype"


@contextlib.contextmanager
def _schedule_scope(global_step: Any, schedule: str, scope: str) -> Iterator[None]:
    """Build a schedule in ``global_step``'s graph under the name scope ``scope``."""
    if global_step is None:
        raise InvalidArgumentError(f"{schedule} needs a global_step")
    graph = global_step.graph if isinstance(global_step, Tensor) else get_default_graph()
    with graph.as_default(), graph.name_scope(scope):
        yield


def _progress(global_step: Any, decay_steps: Any, dtype: DType, staircase: bool) -> Node:
    """``global_step / decay_steps`` in ``dtype``, floored with ``staircase``."""
    p = _over_steps(_in_dtype(global_step, dtype), decay_steps, dtype)
    return floor(p) if staircase else p


def _over_steps(x: Node, decay_steps: Any, dtype: DType) -> Node:
    """``x / decay_steps`` as TF1 computes it: its graph optimizer turns a division by a
    constant into a product with the reciprocal, which rounds differently in float32
    (``21 * (1/7)`` is above 3), so staircases and cycles turn at the same steps as in TF1."""
    if isinstance(decay_steps, Tensor):
        return divide(x, _in_dtype(decay_steps, dtype))
    return multiply(x, divide(_in_dtype(1, dtype), _in_dtype(decay_steps, dtype)))


def _in_dtype(value: Any, dtype: DType | None) -> Node:
    """``value`` cast to ``dtype`` as TF1's ``cast`` does: a Python float is a float32 first."""
    return cast(_tf1_tensor(value), dtype)


def _tf1_tensor(value: Any) -> Node:
    """``value`` as TF1's ``convert_to_tensor`` makes it: Python floats float32, ints int32
    (NumPy scalars keep their dtype)."""
    python_scalar = type(value) in (bool, int, float)
    return convert_to_tensor(value, dtype_hint=default_dtype_for(value) if python_scalar else None)


def _learning_rate_node(value: Any) -> Tensor:
    """A floating node for a learning rate: Python numbers are float32, as in TF1."""
    if isinstance(value, Tensor):
        floating = value.dtype is not None and value.dtype.is_floating
        return value if floating else cast(value, float32)
    numpy_value = isinstance(value, np.ndarray | np.generic) and value.dtype.kind == "f"
    return convert_to_tensor(
        value, dtype_hint=None if numpy_value else float32, name="learning_rate"
    )
