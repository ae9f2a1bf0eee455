"""The oracle harness itself catches a wrong gradient (so the op tests can fail)."""

import pytest
import torch

import chainrule as cr
from chainrule import RegisterGradient
from chainrule.ops.base import Operation
from oracle import check_op


class wrong_square(Operation):
    def __init__(self, x):
        super().__init__([x])

    def compute(self, x):
        return x * x


@RegisterGradient("wrong_square")
def _wrong_square_grad(op, grad):
    return grad * 3.0 * op.inputs[0]


def test_harness_accepts_a_right_gradient(rng):
    check_op(
        lambda a, b: a * b + cr.sin(a),
        lambda a, b: a * b + torch.sin(a),
        [rng.standard_normal((3, 1)), rng.standard_normal((1, 4))],
        second_order=True,
    )


def test_harness_rejects_a_wrong_gradient(rng):
    with pytest.raises(AssertionError):
        check_op(lambda a: wrong_square(a), lambda a: a * a, [rng.standard_normal(3)])


class square_wrong_at_unknown_shape(Operation):
    def __init__(self, x):
        super().__init__([x])

    def compute(self, x):
        return x * x


@RegisterGradient("square_wrong_at_unknown_shape")
def _square_wrong_at_unknown_shape_grad(op, grad):
    x = op.inputs[0]
    return grad * (3.0 if x.shape is None else 2.0) * x


def test_harness_rejects_a_gradient_wrong_only_when_shapes_are_unknown(rng):
    with pytest.raises(AssertionError, match="unknown shapes"):
        check_op(square_wrong_at_unknown_shape, lambda a: a * a, [rng.standard_normal(3)])
