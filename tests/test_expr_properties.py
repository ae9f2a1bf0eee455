"""Property tests: random expressions agree with PyTorch; random text never breaks the parser."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import expr
from chainrule.errors import ExprSyntaxError

VARIABLES = ("x", "y", "z")
FUNCTIONS = tuple(expr.FUNCTIONS)
# precedence levels of the grammar: sums < products < unary minus < powers < atoms
SUM, PRODUCT, UNARY, POWER, ATOM = 1, 2, 3, 4, 5


@dataclass(frozen=True)
class Num:
    value: float
    text: str


@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class Neg:
    operand: object


@dataclass(frozen=True)
class Call:
    function: str
    argument: object


@dataclass(frozen=True)
class Bin:
    operator: str
    left: object
    right: object
    implicit: bool = False


# -- printing with the fewest parentheses the grammar needs ---------------------------------------
def level(node) -> int:
    if isinstance(node, Bin):
        if node.operator in "+-":
            return SUM
        return POWER if node.operator in ("^", "**") else PRODUCT
    return UNARY if isinstance(node, Neg) else ATOM


def show(node, needed: int = SUM) -> str:
    text = _show(node)
    return f"({text})" if level(node) < needed else text


def _show(node) -> str:
    if isinstance(node, Num):
        return node.text
    if isinstance(node, Var):
        return node.name
    if isinstance(node, Neg):
        return "-" + show(node.operand, UNARY)
    if isinstance(node, Call):
        return f"{node.function}({show(node.argument)})"
    if node.operator in "+-":
        return f"{show(node.left, SUM)} {node.operator} {show(node.right, PRODUCT)}"
    if node.operator in "*/":
        right = show(node.right, POWER if node.implicit else UNARY)
        if node.implicit and _is_literal(node.left) and (right[0].isalpha() or right[0] == "("):
            return f"{node.left.text}{right}"
        return f"{show(node.left, PRODUCT)}{node.operator}{right}"
    return f"{show(node.left, ATOM)}{node.operator}{show(node.right, UNARY)}"


def _is_literal(node) -> bool:
    """A number written with digits (``pi`` and ``e`` are names: ``pix`` would be a variable)."""
    return isinstance(node, Num) and node.text not in CONSTANT_NAMES


CONSTANT_NAMES = tuple(expr.CONSTANTS)


# -- the same tree in PyTorch ------------------------------------------------------------------------
TORCH_FUNCTIONS = {
    "sin": torch.sin,
    "cos": torch.cos,
    "tan": torch.tan,
    "exp": torch.exp,
    "log": torch.log,
    "ln": torch.log,
    "sqrt": torch.sqrt,
    "abs": torch.abs,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "relu": torch.relu,
}


def torch_value(node, variables):
    if isinstance(node, Num):
        return torch.tensor(node.value, dtype=torch.float64)
    if isinstance(node, Var):
        return variables[node.name]
    if isinstance(node, Neg):
        return -torch_value(node.operand, variables)
    if isinstance(node, Call):
        return TORCH_FUNCTIONS[node.function](torch_value(node.argument, variables))
    left, right = torch_value(node.left, variables), torch_value(node.right, variables)
    if node.operator == "+":
        return left + right
    if node.operator == "-":
        return left - right
    if node.operator == "*":
        return left * right
    if node.operator == "/":
        return left / right
    return torch.pow(left, right)


# -- strategies ----------------------------------------------------------------------------------------
numbers = st.one_of(
    st.integers(0, 5).map(lambda n: Num(float(n), str(n))),
    st.sampled_from([Num(0.5, ".5"), Num(0.5, "0.5"), Num(2.5, "2.5"), Num(1e-3, "1e-3")]),
    st.sampled_from([Num(150.0, "1.5e2"), Num(math.pi, "pi"), Num(math.e, "e")]),
)
leaves = st.one_of(numbers, st.sampled_from([Var(v) for v in VARIABLES]))


def extend(children):
    return st.one_of(
        st.builds(Neg, children),
        st.builds(Call, st.sampled_from(FUNCTIONS), children),
        st.builds(Bin, st.sampled_from(["+", "-", "*", "/", "^", "**"]), children, children),
        st.builds(Bin, st.just("*"), numbers, children, st.just(True)),
    )


trees = st.recursive(leaves, extend, max_leaves=10)
values = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)


def used(node, names=None):
    names = set() if names is None else names
    if isinstance(node, Var):
        names.add(node.name)
    for child in vars(node).values():
        if isinstance(child, Num | Var | Neg | Call | Bin):
            used(child, names)
    return names


def error_scale(trace) -> float:
    """A bound on how far two correct float64 evaluations may drift: sum |value * gradient|."""
    total = 1.0
    for tn in trace.nodes:
        if tn.gradient is not None and math.isfinite(tn.value) and math.isfinite(tn.gradient):
            total += abs(tn.value) * max(1.0, abs(tn.gradient)) + abs(tn.gradient)
    return total


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees, x=values, y=values, z=values)
def test_random_expressions_agree_with_pytorch(tree, x, y, z):
    text = show(tree)
    e = expr.parse(text)
    names = used(tree)
    assert set(e.variables) == names, text
    point = {"x": x, "y": y, "z": z}
    feed = {name: point[name] for name in e.variables}
    trace = cr.explain(e, feed)

    tensors = {
        n: torch.tensor(v, dtype=torch.float64, requires_grad=True) for n, v in point.items()
    }
    out = torch_value(tree, tensors)
    assume(torch.isfinite(out).item() and math.isfinite(trace.value))
    wanted = [tensors[n] for n in e.variables]
    grads = torch.autograd.grad(out, wanted, allow_unused=True) if wanted else []
    expected = {
        n: (0.0 if g is None else g.item()) for n, g in zip(e.variables, grads, strict=True)
    }
    ours = {n: trace.gradient(n) for n in e.variables}
    assume(all(math.isfinite(v) for v in [*expected.values(), *ours.values()]))
    assume(all(tn.value is None or math.isfinite(tn.value) for tn in trace.nodes))

    scale = error_scale(trace)
    assert abs(trace.value - out.item()) <= 1e-9 * scale, (text, feed, trace.value, out.item())
    for name in e.variables:
        assert abs(ours[name] - expected[name]) <= 1e-7 * scale, (text, feed, name)
        if trace.path_count(name) <= 200:
            products = [p.product for p in trace.paths(name)]
            assert abs(math.fsum(products) - ours[name]) <= 1e-9 * scale, (text, feed, name)


@settings(max_examples=150, deadline=None)
@given(tree=trees)
def test_printed_trees_parse_to_the_same_structure(tree):
    e = expr.parse(show(tree))
    assert e.output.op.type == _expected_op_type(tree), show(tree)


def _expected_op_type(tree) -> str:
    if isinstance(tree, Num):
        return "Const"
    if isinstance(tree, Var):
        return "Placeholder"
    if isinstance(tree, Neg):
        return "Neg"
    if isinstance(tree, Call):
        return {"ln": "Log", "log": "Log"}.get(tree.function, tree.function.capitalize())
    return {"+": "Add", "-": "Sub", "*": "Mul", "/": "RealDiv", "^": "Pow", "**": "Pow"}[
        tree.operator
    ]


# -- random text ----------------------------------------------------------------------------------------
TOKENS = [
    "x", "y", "e", "pi", "1", "2.5", ".5", "1e-3", "3e", "+", "-", "*", "/", "^", "**",
    "(", ")", " ", "sin", "log(", "relu(", "foo(", "_a", ",", "=", "'", "$", ".", "é", "\t",
]  # fmt: skip


def survives(text: str) -> None:
    """``parse`` either builds a graph that evaluates, or raises ExprSyntaxError."""
    try:
        e = expr.parse(text)
    except ExprSyntaxError as err:
        assert 0 <= err.position <= max(len(text), expr.MAX_LENGTH)
        assert str(err)
        return
    result = e.evaluate({name: 0.75 for name in e.variables})
    assert isinstance(result, float)
    assert len(e.graph) <= expr.MAX_NODES


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_arbitrary_text_raises_only_syntax_errors(text):
    survives(text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=25).map("".join))
def test_token_soup_raises_only_syntax_errors(text):
    survives(text)


@settings(max_examples=100, deadline=None)
@given(st.integers(expr.MAX_LENGTH + 1, 20 * expr.MAX_LENGTH), st.sampled_from(["x+", "(", "1"]))
def test_over_long_text_is_refused(length, unit):
    text = (unit * length)[:length]
    with pytest.raises(ExprSyntaxError, match="too long"):
        expr.parse(text)


@settings(max_examples=100, deadline=None)
@given(st.integers(expr.MAX_NODES // 2, 160), st.sampled_from(["+", "*", "-", "/", "^", "**"]))
def test_over_large_expressions_are_refused(count, operator):
    text = operator.join(str(i % 10) for i in range(count + 1))  # 2 * count + 1 nodes
    assert len(text) <= expr.MAX_LENGTH
    with pytest.raises(ExprSyntaxError, match="too large"):
        expr.parse(text)


@settings(max_examples=50, deadline=None)
@given(st.integers(expr.MAX_NODES, expr.MAX_LENGTH - 1))
def test_long_sign_chains_are_refused(count):
    with pytest.raises(ExprSyntaxError, match="too large"):
        expr.parse("-" * count + "x")


def test_largest_constant_chain_fits():
    count = expr.MAX_NODES // 2  # 100 constants and 99 additions: 199 nodes
    e = expr.parse("+".join("1" for _ in range(count)))
    assert e.evaluate() == float(count)


def test_printer_examples():
    two_x = Bin("*", Num(2.0, "2"), Var("x"), True)
    assert show(Bin("^", Neg(Var("x")), Num(2.0, "2"))) == "(-x)^2"
    assert show(Neg(Bin("^", Var("x"), Num(2.0, "2")))) == "-x^2"
    assert show(Bin("^", Var("x"), Bin("^", Var("y"), Var("z")))) == "x^y^z"
    assert show(Bin("^", Bin("^", Var("x"), Var("y")), Var("z"))) == "(x^y)^z"
    assert show(Bin("-", Var("x"), Bin("-", Var("y"), Var("z")))) == "x - (y - z)"
    assert show(two_x) == "2x"
    assert show(Bin("/", Num(1.0, "1"), two_x)) == "1/(2x)"
    assert np.isclose(expr.parse(show(Bin("/", Num(1.0, "1"), two_x))).evaluate({"x": 4}), 0.125)
