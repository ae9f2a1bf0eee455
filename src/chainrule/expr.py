"""A small expression language that builds computation graphs: ``parse("(4*x+1)^2")``.

The text is read by a hand-written precedence-climbing parser (never ``eval``):

    expression := term (("+" | "-") term)*
    term       := unary (("*" | "/") unary | <after a number> power)*
    unary      := ("-" | "+")* power
    power      := primary (("^" | "**") unary)*         right-associative
    primary    := number | constant | variable | function "(" expression ")" | "(" expression ")"

So ``^`` binds tighter than unary minus (``-x^2`` is ``-(x^2)``, ``2^-x`` is ``2^(-x)``) and
is right-associative (``2^3^2`` is ``2^9``). A number directly followed by a name or ``(`` is
multiplied with it at the level of ``*`` (``5x``, ``2(x+1)``, ``3sin(x)``; ``1/2x`` is
``(1/2)*x``). Every variable is one float64 scalar placeholder, however often it is used, so
its gradient adds up the contributions of all its uses. Input length, node count and nesting
depth are bounded; anything malformed raises ``ExprSyntaxError`` with the position.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .dtypes import float64
from .errors import ExprSyntaxError, InvalidArgumentError, NotFoundError
from .graph import Graph, Node
from .ops import math_ops
from .ops.base import Constant, Placeholder

__all__ = ["Expression", "parse", "FUNCTIONS", "CONSTANTS", "MAX_LENGTH", "MAX_NODES", "MAX_DEPTH"]

#: the longest accepted expression, in characters
MAX_LENGTH = 500
#: the most graph nodes (variables, constants and operations) one expression may build
MAX_NODES = 200
#: the deepest nesting of parentheses and function calls
MAX_DEPTH = 40

#: serialises graph building: the default graph is shared by all threads
BUILD_LOCK = threading.RLock()


def _relu(x: Node) -> Node:
    from .ops.nn_ops import relu

    return relu(x)


FUNCTIONS: dict[str, Callable[[Node], Node]] = {
    "sin": math_ops.sin,
    "cos": math_ops.cos,
    "tan": math_ops.tan,
    "exp": math_ops.exp,
    "log": math_ops.log,
    "ln": math_ops.log,
    "sqrt": math_ops.sqrt,
    "abs": math_ops.abs,
    "tanh": math_ops.tanh,
    "sigmoid": math_ops.sigmoid,
    "relu": _relu,
}

CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}

_BINARY: dict[str, Callable[[Node, Node], Node]] = {
    "+": math_ops.add,
    "-": math_ops.subtract,
    "*": math_ops.multiply,
    "/": math_ops.divide,
    "^": math_ops.pow,
    "**": math_ops.pow,
}

_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATOR = re.compile(r"\*\*|[-+*/^()]")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Token:
    """One lexical unit: ``kind`` is number, name, op, end or bad (an unreadable character)."""

    kind: str
    text: str
    position: int

    def describe(self) -> str:
        if self.kind == "end":
            return "the end of the expression"
        return f"'{self.text}'"


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; an unreadable character becomes a final ``bad`` token.

    Stopping at a ``bad`` token (rather than raising at once) lets the parser report the
    first problem in reading order, e.g. the unknown function in ``__import__('os')``.
    """
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        space = _SPACE.match(text, position)
        if space:
            position = space.end()
            continue
        for kind, pattern in (("number", _NUMBER), ("name", _NAME), ("op", _OPERATOR)):
            match = pattern.match(text, position)
            if match:
                tokens.append(Token(kind, match.group(), position))
                position = match.end()
                break
        else:
            tokens.append(Token("bad", text[position], position))
            return tokens
    tokens.append(Token("end", "", len(text)))
    return tokens


def _variable_tokens(tokens: list[Token]) -> list[Token]:
    """The first use of each variable: names that are neither calls nor constants, in order.

    Their placeholders are made before any operation, so each keeps its name in the graph.
    """
    first: dict[str, Token] = {}
    for token, following in zip(tokens, tokens[1:], strict=False):
        if token.kind != "name" or token.text in CONSTANTS or token.text in FUNCTIONS:
            continue
        if following.text != "(":
            first.setdefault(token.text, token)
    return list(first.values())


class Expression:
    """A parsed expression: its graph, output node and variables (name → placeholder)."""

    def __init__(self, text: str, graph: Graph, output: Node, variables: dict[str, Placeholder]):
        self.text = text
        self.graph = graph
        self.output = output
        self.variables = variables
        self._session: Any = None

    def feed_dict(self, values: Mapping[str, Any]) -> dict[Node, np.ndarray]:
        """``{placeholder: float64 value}`` for ``values`` keyed by variable name (all required)."""
        unknown = [name for name in values if name not in self.variables]
        if unknown:
            known = ", ".join(self.variables) or "none"
            raise NotFoundError(
                f"'{unknown[0]}' is not a variable of '{self.text}' (its variables: {known})"
            )
        missing = [name for name in self.variables if name not in values]
        if missing:
            raise InvalidArgumentError(
                f"variable '{missing[0]}' of '{self.text}' needs a value, e.g. {missing[0]}=1"
            )
        return {node: expression_value(name, values[name]) for name, node in self.variables.items()}

    def evaluate(self, values: Mapping[str, Any] | None = None) -> float:
        """The expression's value for ``values`` (variable name → number)."""
        from .runtime.session import Session

        feed = self.feed_dict(values or {})
        if self._session is None:
            self._session = Session(graph=self.graph)
        return float(self._session.run(self.output, feed))

    def __repr__(self) -> str:
        return f"<chainrule.expr.Expression {self.text!r} variables={list(self.variables)}>"


def expression_value(name: str, value: Any) -> np.ndarray:
    """The value of variable ``name`` as a float64 scalar, or an error naming the variable."""
    if value is None:  # NumPy would make it nan and compute on silently
        raise InvalidArgumentError(f"variable '{name}' needs a number, got None")
    try:
        array = np.asarray(value, dtype=np.float64)
    except OverflowError:
        digits = len(str(abs(value))) if isinstance(value, int) else None
        size = f"an integer of {digits} digits" if digits else "a number"
        raise InvalidArgumentError(
            f"variable '{name}' is {size}, too large for a float64 (at most about 1.8e308)"
        ) from None
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"variable '{name}' needs a number, got {value!r}") from None
    if array.shape != ():
        raise InvalidArgumentError(f"variable '{name}' needs a single number, got {value!r}")
    return array


def parse(text: str) -> Expression:
    """Build a new float64 graph computing ``text``; raise ``ExprSyntaxError`` if malformed."""
    if not isinstance(text, str):
        raise ExprSyntaxError(f"an expression must be a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExprSyntaxError(
            f"the expression is too long ({len(text)} characters, at most {MAX_LENGTH})",
            position=MAX_LENGTH,
        )
    tokens = tokenize(text)
    graph = Graph()
    with BUILD_LOCK, graph.as_default():
        parser = _Parser(text, tokens, graph)
        output = parser.parse()
    return Expression(text, graph, output, parser.variables)


class _Parser:
    """Precedence climbing over the token list; builds graph nodes as it recognises them."""

    def __init__(self, text: str, tokens: list[Token], graph: Graph):
        self.text = text
        self.tokens = tokens
        self.index = 0
        self.depth = 0
        self.graph = graph
        self.variables: dict[str, Placeholder] = {}
        self.constants: dict[str, Node] = {}
        for token in _variable_tokens(tokens):
            self._check_size(token)
            self.variables[token.text] = Placeholder(float64, shape=(), name=token.text)

    # -- token access -------------------------------------------------------------------------
    def peek(self) -> Token:
        token = self.tokens[self.index]
        if token.kind == "bad":
            raise self.error(f"unexpected character {token.describe()}", token)
        return token

    def advance(self) -> Token:
        token = self.peek()
        self.index += 1
        return token

    def previous(self) -> Token | None:
        return self.tokens[self.index - 1] if self.index else None

    def error(self, message: str, token: Token) -> ExprSyntaxError:
        return ExprSyntaxError(message, self.text, token.position)

    # -- grammar ------------------------------------------------------------------------------
    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise self.error("the expression is empty", self.peek())
        node = self.expression()
        token = self.peek()
        if token.kind != "end":
            raise self.error(self._unexpected_after_operand(token), token)
        return node

    def expression(self) -> Node:
        left = self.term()
        while self.peek().text in ("+", "-"):
            operator = self.advance()
            left = self.binary(operator, left, self.term())
        return left

    def term(self) -> Node:
        left = self.unary()
        while True:
            token = self.peek()
            if token.text in ("*", "/"):
                self.advance()
                left = self.binary(token, left, self.unary())
            elif self._implicit_multiplication(token):
                left = self.binary(Token("op", "*", token.position), left, self.power())
            else:
                return left

    def _implicit_multiplication(self, token: Token) -> bool:
        """``5x``, ``2(x+1)``, ``3sin(x)``: a number followed by a name or a parenthesis."""
        before = self.previous()
        return (
            before is not None
            and before.kind == "number"
            and (token.kind == "name" or token.text == "(")
        )

    def unary(self) -> Node:
        signs = self._signs()
        return self._apply_signs(signs, self.power())

    def _signs(self) -> list[Token]:
        signs = []
        while self.peek().text in ("+", "-"):
            signs.append(self.advance())
        return signs

    def _apply_signs(self, signs: list[Token], node: Node) -> Node:
        for sign in reversed(signs):
            if sign.text == "-":
                node = self._build(sign, math_ops.negative, node)
        return node

    def power(self) -> Node:
        """``a ^ b ^ -c`` folded from the right without recursion: ``a ^ (b ^ (-c))``."""
        base = self.primary()
        operators: list[Token] = []
        operands: list[tuple[list[Token], Node]] = []
        while self.peek().text in ("^", "**"):
            operators.append(self.advance())
            signs = self._signs()
            operands.append((signs, self.primary()))
        if not operators:
            return base
        signs, result = operands[-1]
        result = self._apply_signs(signs, result)
        for i in range(len(operands) - 2, -1, -1):
            signs, operand = operands[i]
            result = self._apply_signs(signs, self.binary(operators[i + 1], operand, result))
        return self.binary(operators[0], base, result)

    def primary(self) -> Node:
        token = self.peek()
        if token.kind == "number":
            self.advance()
            return self.number(token)
        if token.kind == "name":
            self.advance()
            if self.peek().text == "(":
                return self.call(token)
            return self.name(token)
        if token.text == "(":
            self.advance()
            return self.parenthesised(token)
        if token.kind == "end":
            raise self.error("the expression ends too early; expected a number, name or '('", token)
        raise self.error(f"unexpected {token.describe()}; expected a number, name or '('", token)

    def parenthesised(self, opening: Token) -> Node:
        self._enter(opening)
        node = self.expression()
        closing = self.peek()
        if closing.text != ")":
            if closing.kind == "end":
                message = f"missing ')' (the '(' at offset {opening.position} is not closed)"
            else:
                message = f"expected ')' to close the '(' opened at offset {opening.position}"
                message += f", got {closing.describe()}"
            raise self.error(message, closing)
        self.advance()
        self.depth -= 1
        return node

    def call(self, name: Token) -> Node:
        function = FUNCTIONS.get(name.text)
        if function is None:
            known = ", ".join(FUNCTIONS)
            hint = f"; to multiply, write {name.text}*(...)" if name.text in self.variables else ""
            raise self.error(f"unknown function '{name.text}' (known: {known}){hint}", name)
        opening = self.advance()
        argument = self.parenthesised(opening)
        return self._build(name, function, argument)

    def name(self, token: Token) -> Node:
        if token.text in FUNCTIONS:
            raise self.error(
                f"the function '{token.text}' needs its argument in parentheses: {token.text}(...)",
                token,
            )
        if token.text in CONSTANTS:
            node = self.constants.get(token.text)
            if node is None:
                node = self._constant(token, CONSTANTS[token.text], name=token.text)
                self.constants[token.text] = node
            return node
        return self.variables[token.text]

    def number(self, token: Token) -> Node:
        value = float(token.text)
        if not math.isfinite(value):
            raise self.error(f"the number {token.text} is too large", token)
        return self._constant(token, value, name="Const")

    # -- building -----------------------------------------------------------------------------
    def binary(self, operator: Token, left: Node, right: Node) -> Node:
        return self._build(operator, _BINARY[operator.text], left, right)

    def _constant(self, token: Token, value: float, name: str) -> Node:
        self._check_size(token)
        return Constant(value, dtype=float64, name=name, graph=self.graph)

    def _build(self, token: Token, fn: Callable[..., Node], *inputs: Node) -> Node:
        self._check_size(token)
        return fn(*inputs)

    def _check_size(self, token: Token) -> None:
        if len(self.graph) >= MAX_NODES:
            raise self.error(f"the expression is too large (more than {MAX_NODES} nodes)", token)

    def _enter(self, opening: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"parentheses are nested too deeply (at most {MAX_DEPTH})", opening)

    def _unexpected_after_operand(self, token: Token) -> str:
        if token.text == ")":
            return "unmatched ')'"
        if token.kind in ("number", "name") or token.text == "(":
            return f"expected an operator before {token.describe()}"
        return f"unexpected {token.describe()}"
