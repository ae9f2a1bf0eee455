"""``DistributedOptimizer``: any optimizer, with gradients averaged over the ranks each step."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..errors import InvalidArgumentError
from ..graph import Node
from ..ops.state_ops import Variable
from ..train.optimizer import Optimizer
from .ops import MPIAllreduce, reduce_packed
from .world import world

__all__ = ["DistributedOptimizer"]


class DistributedOptimizer(Optimizer):
    """Wraps ``optimizer`` so that ``compute_gradients`` returns the mean over all ranks of
    each gradient, as Horovod's ``hvd.DistributedOptimizer`` does.

    The gradients of a step are packed into one contiguous buffer (one per dtype) and averaged
    by a single allreduce, then cut back into their shapes; ``fused=False`` runs one allreduce
    per gradient instead (slower: one message each). Updates, slots and names are the wrapped
    optimizer's, so checkpoints are the same as a single process's.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        name: str | None = None,
        use_locking: bool = False,
        fused: bool = True,
    ):
        if not isinstance(optimizer, Optimizer):
            raise InvalidArgumentError(
                f"DistributedOptimizer wraps a chainrule optimizer, got {optimizer!r}"
            )
        world()
        super().__init__(use_locking, name or f"Distributed{optimizer.get_name()}")
        self._optimizer = optimizer
        self._fused = fused

    def compute_gradients(
        self,
        loss: Node,
        var_list: Sequence[Variable] | None = None,
        gate_gradients: int = Optimizer.GATE_OP,
        aggregation_method: Any = None,
        colocate_gradients_with_ops: bool = False,
        grad_loss: Any = None,
    ) -> list[tuple[Node | None, Variable]]:
        """The wrapped optimizer's ``(gradient, variable)`` pairs, each gradient averaged
        over the ranks (``None`` stays ``None``: no rank has a gradient there)."""
        pairs = self._optimizer.compute_gradients(
            loss,
            var_list,
            gate_gradients,
            aggregation_method,
            colocate_gradients_with_ops,
            grad_loss,
        )
        present = [(i, g) for i, (g, _) in enumerate(pairs) if g is not None]
        if not present:
            return pairs
        with loss.graph.as_default(), loss.graph.name_scope("DistributedOptimizer_Allreduce"):
            grads = [g for _, g in present]
            if self._fused:
                averaged = reduce_packed(grads, _average, "fused")
            else:
                averaged = [_average(g) for g in grads]
        result = list(pairs)
        for (i, _), grad in zip(present, averaged, strict=True):
            result[i] = (grad, pairs[i][1])
        return result

    def apply_gradients(
        self,
        grads_and_vars: Iterable[tuple[Any, Variable]],
        global_step: Variable | None = None,
        name: str | None = None,
    ) -> Node:
        """The wrapped optimizer's update with these (already averaged) gradients."""
        return self._optimizer.apply_gradients(grads_and_vars, global_step, name)

    def minimize(
        self,
        loss: Node,
        global_step: Variable | None = None,
        var_list: Sequence[Variable] | None = None,
        gate_gradients: int = Optimizer.GATE_OP,
        aggregation_method: Any = None,
        colocate_gradients_with_ops: bool = False,
        name: str | None = None,
        grad_loss: Any = None,
    ) -> Node:
        """An op that takes one step down the gradient of the mean over ranks of ``loss``;
        ``loss`` is computed before any variable changes, as with the wrapped optimizer."""
        pairs = self.compute_gradients(loss, var_list=var_list, grad_loss=grad_loss)
        if all(g is None for g, _ in pairs):
            names = ", ".join(f"'{v.name}'" for _, v in pairs)
            raise InvalidArgumentError(
                f"no gradients: the loss does not depend on any of the variables ({names})",
                loss,
            )
        with loss.graph.control_dependencies([loss]):
            return self.apply_gradients(pairs, global_step, name)

    def get_slot(self, var: Variable, name: str) -> Variable | None:
        return self._optimizer.get_slot(var, name)

    def get_slot_names(self) -> list[str]:
        return self._optimizer.get_slot_names()

    def variables(self) -> list[Variable]:
        return self._optimizer.variables()


def _average(tensor: Node) -> Node:
    return MPIAllreduce(tensor, average=True, name="MPIAllreduce")
