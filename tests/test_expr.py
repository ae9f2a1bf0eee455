"""The expression language: grammar, precedence, graph shape, errors and bounds."""

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import expr
from chainrule.errors import ExprSyntaxError, InvalidArgumentError, NotFoundError


def value(text, **values):
    return expr.parse(text).evaluate(values)


@pytest.mark.parametrize(
    "text, values, expected",
    [
        ("(4*x+1)^2", {"x": 1.0}, 25.0),
        ("3", {}, 3.0),
        (".5", {}, 0.5),
        ("1e-3", {}, 1e-3),
        ("2.5E+2", {}, 250.0),
        ("1.", {}, 1.0),
        ("1 + 2 * 3", {}, 7.0),
        ("(1 + 2) * 3", {}, 9.0),
        ("7 - 2 - 1", {}, 4.0),
        ("8 / 4 / 2", {}, 1.0),
        ("2^3^2", {}, 512.0),
        ("2**3**2", {}, 512.0),
        ("(2^3)^2", {}, 64.0),
        ("-x^2", {"x": 3.0}, -9.0),
        ("(-x)^2", {"x": 3.0}, 9.0),
        ("2^-1", {}, 0.5),
        ("2^-x^2", {"x": 1.0}, 0.5),
        ("--x", {"x": 2.0}, 2.0),
        ("+x", {"x": 2.0}, 2.0),
        ("-2*3", {}, -6.0),
        ("x - -y", {"x": 1.0, "y": 2.0}, 3.0),
        ("5x", {"x": 2.0}, 10.0),
        ("2(x+1)", {"x": 2.0}, 6.0),
        ("3sin(x)", {"x": 0.5}, 3 * math.sin(0.5)),
        ("2x^2", {"x": 3.0}, 18.0),
        ("1/2x", {"x": 4.0}, 2.0),
        ("x^2y", {"x": 3.0, "y": 2.0}, 18.0),
        ("2 x", {"x": 4.0}, 8.0),
        ("2e", {}, 2 * math.e),
        ("e^(-x)", {"x": 1.0}, math.exp(-1.0)),
        ("pi", {}, math.pi),
        ("sin(pi/2)", {}, 1.0),
        ("cos(0)", {}, 1.0),
        ("tan(x)", {"x": 0.3}, math.tan(0.3)),
        ("exp(1)", {}, math.e),
        ("log(e)", {}, 1.0),
        ("ln(e^2)", {}, 2.0),
        ("sqrt(16)", {}, 4.0),
        ("abs(-3)", {}, 3.0),
        ("tanh(x)", {"x": 0.7}, math.tanh(0.7)),
        ("sigmoid(0)", {}, 0.5),
        ("relu(-2) + relu(3)", {}, 3.0),
        ("x_1 + x2", {"x_1": 1.0, "x2": 2.0}, 3.0),
        ("  x\t*\n2 ", {"x": 4.0}, 8.0),
    ],
)
def test_values(text, values, expected):
    assert value(text, **values) == pytest.approx(expected, rel=1e-14, abs=1e-15)


def test_graph_is_float64_with_one_placeholder_per_variable():
    e = expr.parse("x*x + 3x + y")
    assert e.text == "x*x + 3x + y"
    assert list(e.variables) == ["x", "y"]
    x = e.variables["x"]
    assert isinstance(x.op, cr.Placeholder) and x.op.name == "x" and x.shape == ()
    assert x.dtype == cr.float64 and e.output.dtype == cr.float64
    placeholders = [n for n in e.graph.get_operations() if isinstance(n, cr.Placeholder)]
    assert placeholders == [x.op, e.variables["y"].op]
    assert e.graph is not cr.get_default_graph()
    assert len(cr.get_default_graph().get_operations()) == 0


def test_node_names_are_readable_op_types():
    e = expr.parse("sin(x) * 2 + y / 4 - x^2")
    op_types = [n.op_type for n in e.graph.get_operations()]
    assert op_types == [
        "Placeholder",
        "Placeholder",
        "Sin",
        "Const",
        "Mul",
        "Const",
        "RealDiv",
        "Add",
        "Const",
        "Pow",
        "Sub",
    ]
    assert e.output.op.name == "Sub"
    assert {n.name for n in e.graph.get_operations()} >= {"x", "y", "Sin", "Mul", "Pow"}


def test_variable_named_like_an_op_keeps_its_name():
    e = expr.parse("x*y + Mul")
    assert e.variables["Mul"].op.name == "Mul"
    assert e.evaluate({"x": 2, "y": 3, "Mul": 4}) == 10.0


def test_named_constants_are_shared_nodes():
    e = expr.parse("e + e*pi")
    consts = [n for n in e.graph.get_operations() if n.op_type == "Const"]
    assert [c.name for c in consts] == ["e", "pi"]
    assert e.evaluate() == pytest.approx(math.e + math.e * math.pi)


def test_expression_implicit_product_binds_like_multiplication():
    e = expr.parse("3sin(x)")
    assert e.output.op.type == "Mul"
    assert e.output.op.inputs[1].op.type == "Sin"


def test_evaluate_checks_its_values():
    e = expr.parse("x + y")
    with pytest.raises(InvalidArgumentError, match="variable 'y'.*needs a value"):
        e.evaluate({"x": 1.0})
    with pytest.raises(NotFoundError, match="'z' is not a variable"):
        e.evaluate({"x": 1.0, "y": 2.0, "z": 3.0})
    with pytest.raises(InvalidArgumentError, match="single number"):
        e.evaluate({"x": [1.0, 2.0], "y": 2.0})
    with pytest.raises(InvalidArgumentError, match="needs a number"):
        e.evaluate({"x": "one", "y": 2.0})
    assert e.evaluate({"x": np.float32(1.5), "y": 2}) == 3.5


def test_evaluate_domain_errors_give_nan_not_exceptions():
    assert math.isnan(value("sqrt(x)", x=-1.0))
    assert value("log(x)", x=0.0) == -math.inf


# -- errors ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, position, fragment",
    [
        ("5x+", 3, "ends too early"),
        ("(x+1", 4, "missing ')'"),
        ("x +* 2", 3, "unexpected '*'"),
        ("__import__('os')", 0, "unknown function '__import__'"),
        ("foo(x)", 0, "unknown function 'foo'"),
        ("", 0, "empty"),
        ("   ", 3, "empty"),
        ("x(x+1)", 0, "write x*(...)"),
        ("sin x", 0, "needs its argument in parentheses"),
        ("sin", 0, "needs its argument in parentheses"),
        ("(x+1)2", 5, "expected an operator before '2'"),
        ("x y", 2, "expected an operator before 'y'"),
        ("x)", 1, "unmatched ')'"),
        ("()", 1, "unexpected ')'"),
        ("sin()", 4, "unexpected ')'"),
        ("1.2.3", 3, "expected an operator before '.3'"),
        ("x $ 2", 2, "unexpected character '$'"),
        ("x, y", 1, "unexpected character ','"),
        ("x = 1", 2, "unexpected character '='"),
        ("1e999", 0, "too large"),
        ("x^", 2, "ends too early"),
        ("2^^3", 2, "unexpected '^'"),
        ("x***2", 3, "unexpected '*'"),
        ("(x+1))", 5, "unmatched ')'"),
        ("é + 1", 0, "unexpected character 'é'"),
        ("x // 2", 3, "unexpected '/'"),
        ("log(x, 2)", 5, "unexpected character ','"),
    ],
)
def test_syntax_errors_point_at_the_problem(text, position, fragment):
    with pytest.raises(ExprSyntaxError) as info:
        expr.parse(text)
    err = info.value
    assert err.position == position, str(err)
    assert fragment in str(err)
    assert err.text == text
    if text.strip():
        lines = str(err).splitlines()
        assert lines[1] == "  " + text
        assert lines[2] == "  " + " " * position + "^"


def test_syntax_error_is_a_chainrule_error_and_a_value_error():
    with pytest.raises(cr.errors.ChainruleError):
        expr.parse("x +")
    with pytest.raises(ValueError):
        expr.parse("x +")


def test_non_string_is_refused():
    with pytest.raises(ExprSyntaxError, match="must be a string"):
        expr.parse(42)


@pytest.mark.parametrize("bad", ["5x+", "(x+1", "x +* 2", "__import__('os')", "foo(x)"])
def test_seed_rejections(bad):
    with pytest.raises(ExprSyntaxError):
        expr.parse(bad)


# -- bounds ----------------------------------------------------------------------------------------
def test_too_long_is_refused_before_reading():
    text = "x+" * 300 + "x"
    assert len(text) > expr.MAX_LENGTH
    with pytest.raises(ExprSyntaxError, match="too long") as info:
        expr.parse(text)
    assert info.value.position == expr.MAX_LENGTH


def test_too_many_nodes_is_refused():
    text = "+".join(f"v{i}" for i in range(120))
    assert len(text) <= expr.MAX_LENGTH
    with pytest.raises(ExprSyntaxError, match=f"more than {expr.MAX_NODES} nodes"):
        expr.parse(text)
    with pytest.raises(ExprSyntaxError, match="too large"):
        expr.parse("-" * 250 + "x")


def test_largest_accepted_expression_builds():
    text = "+".join(["x"] * 100)  # 1 placeholder + 99 Add nodes
    e = expr.parse(text)
    assert len(e.graph) == 100
    assert e.evaluate({"x": 1.0}) == 100.0


def test_deep_nesting_is_refused_not_a_recursion_error():
    deep = "(" * (expr.MAX_DEPTH + 1) + "x" + ")" * (expr.MAX_DEPTH + 1)
    with pytest.raises(ExprSyntaxError, match="nested too deeply") as info:
        expr.parse(deep)
    assert info.value.position == expr.MAX_DEPTH
    ok = "(" * expr.MAX_DEPTH + "x" + ")" * expr.MAX_DEPTH
    assert expr.parse(ok).evaluate({"x": 2.0}) == 2.0
    functions = "sin(" * (expr.MAX_DEPTH + 1) + "x" + ")" * (expr.MAX_DEPTH + 1)
    with pytest.raises(ExprSyntaxError, match="nested too deeply"):
        expr.parse(functions)


def test_long_power_and_sign_chains_are_iterative():
    assert expr.parse("1" + "^1" * 90).evaluate() == 1.0
    assert expr.parse("-" * 150 + "x").evaluate({"x": 2.0}) == 2.0


def test_parsing_uses_no_eval(monkeypatch):
    import builtins

    def forbidden(*args, **kwargs):
        raise AssertionError("parsing must not evaluate text as Python")

    with monkeypatch.context() as patch:
        patch.setattr(builtins, "eval", forbidden)
        patch.setattr(builtins, "exec", forbidden)
        e = expr.parse("2^3^2 + sin(x)")
    assert e.evaluate({"x": 0.0}) == 512.0


@pytest.mark.parametrize("value", [10**400, -(10**400)])
def test_integer_values_too_large_for_floats_are_refused(value):
    message = "variable 'x' is an integer of 401 digits, too large for a float64"
    with pytest.raises(InvalidArgumentError, match=message):
        cr.explain("x*2", {"x": value})
    with pytest.raises(InvalidArgumentError, match=message):
        expr.parse("x*2").evaluate({"x": value})


def test_none_as_a_value_is_refused_not_computed_as_nan():
    with pytest.raises(InvalidArgumentError, match="variable 'x' needs a number, got None"):
        cr.explain("x*2", {"x": None})
    with pytest.raises(InvalidArgumentError, match="variable 'x' needs a number, got None"):
        expr.parse("x*2").evaluate({"x": None})
