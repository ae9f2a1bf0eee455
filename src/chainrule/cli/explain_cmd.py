"""``chainrule explain "(4*x+1)^2" x=1``: every node's value and gradient, then the result."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

import numpy as np

from ..errors import ChainruleError, InvalidArgumentError
from ..trace import format_value
from . import os_error_message

#: the most chain-rule paths printed per variable
SHOWN_PATHS = 8

EXAMPLES = """examples:
  chainrule explain "(4*x+1)^2" x=1
  chainrule explain "x*y + sin(x)" x=0.5 y=2 --svg graph.svg
  chainrule explain "-x^2" x=3
"""

#: the options of ``chainrule explain`` that take a value (the next word is not an expression)
OPTIONS_WITH_VALUES = ("--svg", "--png", "--dot")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="show the forward values and gradients of an expression, node by node",
        description=(
            "Parse an expression into a computation graph, evaluate it at the given values\n"
            "and backpropagate: prints each node's value and gradient, the result, and for\n"
            "each variable the chain-rule product along every path to the output."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("expression", help='e.g. "(4*x+1)^2"')
    parser.add_argument(
        "assignments", nargs="*", metavar="NAME=VALUE", help="a value for each variable"
    )
    parser.add_argument("--svg", metavar="FILE", help="also draw the graph as SVG")
    parser.add_argument("--png", metavar="FILE", help="also draw the graph as PNG")
    parser.add_argument("--dot", metavar="FILE", help="also write the graph as DOT text")
    parser.add_argument("--json", action="store_true", help="print the trace as JSON instead")
    parser.set_defaults(run=run)


def shield_leading_minus(words: list[str]) -> list[str]:
    """Let ``explain "-x^2" x=3`` through argparse, which takes ``-x^2`` for an unknown option.

    A word after ``explain`` that starts with a single ``-`` (and is neither ``-h`` nor the
    value of ``--svg``, ``--png`` or ``--dot``) is an expression or a ``NAME=VALUE``; a leading
    space makes argparse see it as one, and ``run`` strips the space again.
    """
    shielded = []
    after_option = False
    for word in words:
        if word == "--":
            return shielded + words[len(shielded) :]
        looks_negative = word.startswith("-") and not word.startswith("--") and word != "-h"
        shielded.append(f" {word}" if looks_negative and not after_option else word)
        after_option = word in OPTIONS_WITH_VALUES
    return shielded


def parse_assignments(items: list[str]) -> dict[str, float]:
    """``["x=1", "y=-2.5"]`` → ``{"x": 1.0, "y": -2.5}``; a name given twice is refused."""
    values: dict[str, float] = {}
    for item in items:
        name, sep, text = item.strip().partition("=")
        name = name.strip()
        if not sep or not name:
            raise InvalidArgumentError(f"expected NAME=VALUE, got '{item.strip()}'")
        if name in values:
            raise InvalidArgumentError(
                f"'{name}' is given twice ({name}={format_number(values[name])} and "
                f"{item.strip()}); give each variable one value"
            )
        try:
            values[name] = float(text)
        except ValueError:
            raise InvalidArgumentError(f"the value of '{name}' is not a number: '{text}'") from None
        if math.isinf(values[name]) and "inf" not in text.lower():
            raise InvalidArgumentError(
                f"the value of '{name}' is too large for a float64 (at most about 1.8e308): "
                f"'{text[:40]}{'...' if len(text) > 40 else ''}'"
            )
    return values


def run(args: argparse.Namespace) -> int:
    from .. import dot, expr
    from ..trace import explain

    try:
        expression = expr.parse(args.expression.strip())
        values = parse_assignments(args.assignments)
        require_every_value(expression, values)
        trace = explain(expression, values)
    except ChainruleError as err:  # a syntax error (with its caret), a repeated name, ...
        print(f"chainrule explain: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(trace.to_dict(), indent=2))
    else:
        print(trace.table())
        print()
        print(f"value = {format_value(trace.value, 12)}")
        for name in trace.variables:
            print(f"d/d{name} = {format_value(trace.gradient(name), 12)}")
            for line in chain_rule_lines(trace, name):
                print(line)
    for note in non_finite_notes(trace):
        print(f"note: {note}", file=sys.stderr)
    return _write_pictures(args, trace, dot)


def format_number(value: float) -> str:
    """``1.0`` → ``1``, ``2.5`` → ``2.5``: a value as one would type it on the command line."""
    return f"{value:g}"


def require_every_value(expression: Any, values: dict[str, float]) -> None:
    """Refuse to run without a value for each variable, naming it as the command line wants it."""
    missing = [name for name in expression.variables if name not in values]
    if missing:
        wanted = " ".join(f"{name}=1" for name in missing)
        raise InvalidArgumentError(
            f"'{expression.text}' needs a value for {', '.join(repr(n) for n in missing)}: "
            f"add it to the command, e.g. {wanted}"
        )


def non_finite_notes(trace: Any) -> list[str]:
    """Say in words where a nan or an infinity came from, for the value and for each gradient."""
    culprit = _first_non_finite_node(trace)
    if culprit is not None:
        return [_value_note(trace, culprit)]
    notes = []
    for name in trace.variables:
        gradient = trace.gradient(name)
        if gradient is not None and not np.all(np.isfinite(gradient)):
            notes.append(
                f"d/d{name} is {format_value(gradient)}: the value is finite, but a "
                "function on the way is infinitely steep at this point (like sqrt at 0)"
            )
    return notes


def _first_non_finite_node(trace: Any) -> Any:
    """The first node, in forward order, whose value is nan or infinite (``None`` if none)."""
    for node in trace.nodes:
        if node.value is not None and not np.all(np.isfinite(node.value)):
            return node
    return None


def _value_note(trace: Any, node: Any) -> str:
    """``Sqrt got -1 and gave nan (not a number): ...`` with a word on why."""
    result = format_value(node.value)
    if not node.inputs:
        return f"{node.name} is {result}; the computation starts from it"
    inputs = ", ".join(format_value(trace.node(name).value) for name in node.inputs)
    if np.any(np.isnan(node.value)):
        why = (
            "nan means 'not a number': the input is outside where the function is defined "
            "(sqrt or log of a negative number, 0/0, inf - inf)"
        )
    else:
        why = (
            "the result is infinite (log(0), 1/0, or a number too large for floats, like exp(1000))"
        )
    return f"{node.op_type} got {inputs} and gave {result}; {why}"


def chain_rule_lines(trace: Any, variable: str, limit: int = SHOWN_PATHS) -> list[str]:
    """``  x -> Mul -> Add -> Pow: 4 * 1 * 10 = 40``: one line per path, at most ``limit``."""
    lines = []
    for path in trace.paths(variable, limit):
        if path.product is None:
            continue
        factors = " * ".join(format_value(f) for f in path.factors) or "1"
        route = " -> ".join(path.nodes)
        lines.append(f"  {route}: {factors} = {format_value(path.product)}")
    hidden = trace.path_count(variable) - limit
    if hidden > 0:
        lines.append(f"  ... and {hidden} more paths")
    return lines


def _write_pictures(args: argparse.Namespace, trace: Any, dot: Any) -> int:
    """Write the requested DOT, SVG and PNG files; 1 if any could not be written."""
    status = 0
    requests = ((args.dot, "dot"), (args.svg, "svg"), (args.png, "png"))
    for path, fmt in requests:
        if not path:
            continue
        try:
            if fmt == "dot":
                with open(path, "w", encoding="utf-8") as handle:
                    handle.write(dot.to_dot(trace))
            else:
                dot.render(trace, path, format=fmt)
        except ChainruleError as err:
            print(f"chainrule explain: {err}", file=sys.stderr)
            status = 1
            continue
        except OSError as err:
            print(f"chainrule explain: {os_error_message(err, path)}", file=sys.stderr)
            status = 1
            continue
        print(f"wrote {path}", file=sys.stderr)
    return status
