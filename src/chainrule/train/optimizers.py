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

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..dtypes import DType, float32, int64
from ..errors import DTypeError, InvalidArgumentError, NotFoundError
from ..graph import Graph, InplaceKernel, PlanValue, Tensor, get_default_graph
from ..ops.base import convert_to_tensor
from ..ops.math_ops import cast, floor, multiply
from ..ops.math_ops import pow as power
from ..ops.state_ops import GLOBAL_VARIABLES, Variable, assign, group
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

GLOBAL_STEP = "global_step"


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
    found = graph.get_collection(GLOBAL_STEP)
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
    """Create the int64 variable ``global_step`` (0, not trainable); an error if it exists."""
    graph = graph or get_default_graph()
    if get_global_step(graph) is not None:
        raise InvalidArgumentError("the graph already has a global step")
    with graph.as_default(), outside_scopes(graph):
        return Variable(
            np.int64(0),
            trainable=False,
            name="global_step",
            dtype=int64,
            collections=[GLOBAL_VARIABLES, GLOBAL_STEP],
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
    if global_step is None:
        raise InvalidArgumentError("exponential_decay needs a global_step")
    graph = global_step.graph if isinstance(global_step, Tensor) else get_default_graph()
    with graph.as_default(), graph.name_scope(name or "ExponentialDecay"):
        lr = _learning_rate_node(learning_rate)
        step = cast(global_step, lr.dtype)
        p = step / convert_to_tensor(decay_steps, dtype_hint=lr.dtype)
        if staircase:
            p = floor(p)
        rate = convert_to_tensor(decay_rate, dtype_hint=lr.dtype)
        return multiply(lr, power(rate, p), name="decayed_learning_rate")


def _learning_rate_node(value: Any) -> Tensor:
    """A floating node for a learning rate: Python numbers are float32, as in TF1."""
    if isinstance(value, Tensor):
        floating = value.dtype is not None and value.dtype.is_floating
        return value if floating else cast(value, float32)
    numpy_value = isinstance(value, np.ndarray | np.generic) and value.dtype.kind == "f"
    return convert_to_tensor(
        value, dtype_hint=None if numpy_value else float32, name="learning_rate"
    )
