"""Newton's method for a square root as a ``while_loop``, and what its trace shows.

The loop runs until ``x * x`` is within 1e-12 of ``a``; how many times is known only when it
runs. The trace shows the loop's variables after every iteration with the gradient of the
root with respect to them (how much each iterate still matters: Newton's method forgets its
start quickly), and backpropagation through the loop gives d sqrt(a) / da = 1 / (2 sqrt(a)).

    .venv/bin/python examples/newton_sqrt.py [a]
"""

from __future__ import annotations

import sys

import chainrule as cr


def newton_sqrt(a: cr.Tensor) -> tuple[cr.Tensor, cr.Tensor]:
    """The number of Newton steps taken, and the root they reach."""

    def keep_going(steps: cr.Tensor, x: cr.Tensor) -> cr.Tensor:
        return cr.abs(x * x - a) > 1e-12

    def newton_step(steps: cr.Tensor, x: cr.Tensor) -> tuple[cr.Tensor, cr.Tensor]:
        return steps + 1, (x + a / x) / 2.0

    with cr.name_scope("newton"):
        steps, root = cr.while_loop(
            keep_going, newton_step, [cr.constant(0), a], maximum_iterations=100
        )
    return steps, root


def main() -> None:
    value = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    a = cr.placeholder(cr.float64, [], name="a")
    _, root = newton_sqrt(a)
    trace = cr.explain(root, {"a": value})
    loop = next(node for node in trace.nodes if node.op_type == "While")
    print(f"sqrt({value}) by Newton's method, one line per iteration:")
    rows = zip(loop.iterations, loop.iteration_gradients, strict=True)
    for k, ((steps, x), (_, grad)) in enumerate(rows):
        print(f"  after {k}: steps={steps}  x={x:.15f}  d root / d x={grad:.3g}")
    print(f"root = {trace.value:.15f}")
    print(f"d root / d a = {trace.gradient('a'):.15f}  (1 / (2 sqrt(a)) = {0.5 / value**0.5:.15f})")
    print()
    print(trace.table())


if __name__ == "__main__":
    main()
