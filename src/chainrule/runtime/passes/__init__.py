"""Plan rewrites: a plan's nodes lowered to terms, then simplified without touching the graph.

Each pass is exact (the rewritten plan computes the same values) and generic: it learns what
it needs about an op from the hooks the op declares (``Node``: ``shape_rule``,
``alias_inputs``, ``passthrough``, ``broadcast_source``, ``takes_broadcast``, ``fusion_key``
and ``fused_kernels``, ``specialize``, ``inplace_kernel``), so a user's op takes part too.

- ``simplification``: constant folding of pure ops whose inputs are all constants; merging
  of common subexpressions (same op, attributes and inputs); removal of ops that pass an
  input on (``x*1``, ``x+0``, identities, reshapes and broadcasts to the shape the value
  already has, reductions that reduce nothing). Shapes are compared symbolically
  (``symbolic_shapes``): an unknown dimension is a symbol that flows through the ops' shape
  rules, so the batch dimension ``?`` of ``(?, 256)`` is known to equal the ``?`` of another
  ``(?, 256)`` computed from the same input;
- ``fusion``: broadcasts skipped where the consumer broadcasts anyway (the mean's gradient);
  an op and its partner computed by one kernel (softmax cross-entropy, dense or sparse
  labels, with its gradient: the softmax is computed once);
- ``specialization``: kernels fixed to the plan's shapes (a gradient's ``sum_to_like`` with
  known axes, mean);
- ``buffer_reuse``: an op writes its result into an input buffer that dies at that op
  (``out=``), and a gradient-descent step scales its dying gradient in place, so a training
  step allocates fewer arrays (arrays known to be tiny are left alone).

Random ops, variable reads and updates (``pure = False``), fed nodes and nodes with control
inputs are never merged, folded or dropped. ``Session(optimize=False)`` or the
environment variable ``CHAINRULE_REWRITES=0`` turns every rewrite off.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ...ops.shapes import Dim
from .buffer_reuse import reuse_buffers
from .fusion import drop_broadcasts, fuse
from .lowering import binds_by_outputs, lower
from .simplification import live_program, simplify
from .specialization import specialize
from .terms import CALL, CONST, FEED, ITEM, Stats, Term, aliased_inputs, is_small, number

__all__ = [
    "ENV_VAR",
    "enabled_by_default",
    "Term",
    "lower",
    "optimize",
    "Dim",
    "Stats",
    "number",
    "FEED",
    "CONST",
    "CALL",
    "ITEM",
    "is_small",
    "aliased_inputs",
    "binds_by_outputs",
]

#: environment variable that turns plan rewrites off when set to 0 (for whole test runs)
ENV_VAR = "CHAINRULE_REWRITES"


def enabled_by_default() -> bool:
    """Whether new sessions rewrite their plans: yes unless ``CHAINRULE_REWRITES`` is 0/off."""
    return os.environ.get(ENV_VAR, "1").strip().lower() not in ("0", "false", "no", "off")


def optimize(
    terms: list[Term],
    fetch_terms: Sequence[Term],
    control_roots: Sequence[Term],
    store: Any,
    fold: bool = True,
) -> tuple[list[Term], Stats]:
    """Rewrite ``terms`` (in plan order); returns the terms left to run, in order, and stats."""
    stats = Stats()
    calls = _kernel_calls(terms)
    simplify(terms, stats, fold)
    fetches = [t.resolved() for t in fetch_terms]
    roots = [t.resolved() for t in control_roots]
    program = live_program(terms, fetches, roots)
    if drop_broadcasts(program, stats):
        program = live_program(program, fetches, roots)
    program = fuse(program, stats)
    specialize(program, stats)
    number(program)
    reuse_buffers(program, fetches, stats, store)
    stats.removed = calls - _kernel_calls(program)
    return program, stats


def _kernel_calls(terms: Sequence[Term]) -> int:
    """How many kernel calls ``terms`` make (outputs of a multi-output call are not calls)."""
    return sum(1 for t in terms if t.kind == CALL)
