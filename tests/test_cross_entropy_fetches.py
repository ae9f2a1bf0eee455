"""Cross-entropies fed through ``[None, k]`` placeholders: the mean loss, its gradients and its
second-order gradients are the same fetched together or apart, with the rewrites on or off,
and match PyTorch. Unknown batch sizes keep the broadcast of the mean's gradient in the plan,
so the loss and its gradient are computed in one program and the fused kernel is used."""

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import chainrule as cr

LOGITS = np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0]])
ONE_HOT = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
UNNORMALISED = np.array([[2.0, 0.0, 0.0], [0.5, 0.5, 1.0]])
CLASSES = np.array([1, 2])
PROBABILITIES = np.array([[1.0, 0.0, 0.5], [0.2, 0.7, 0.0]])


def _dense_torch(labels, logits):
    return -(labels * F.log_softmax(logits, dim=-1)).sum(-1)


@dataclass(frozen=True)
class Case:
    """A cross-entropy op, its PyTorch twin and the labels it is fed."""

    name: str
    cr_fn: Any
    torch_fn: Any
    labels: np.ndarray
    labels_get_gradient: bool

    @property
    def sparse(self):
        return self.labels.dtype.kind == "i"


CASES = [
    Case(
        "v2_one_hot",
        cr.nn.softmax_cross_entropy_with_logits_v2,
        _dense_torch,
        ONE_HOT,
        True,
    ),
    Case(
        "v2_unnormalised",
        cr.nn.softmax_cross_entropy_with_logits_v2,
        _dense_torch,
        UNNORMALISED,
        True,
    ),
    Case(
        "v1_one_hot",
        cr.nn.softmax_cross_entropy_with_logits,
        _dense_torch,
        ONE_HOT,
        False,
    ),
    Case(
        "v1_unnormalised",
        cr.nn.softmax_cross_entropy_with_logits,
        _dense_torch,
        UNNORMALISED,
        False,
    ),
    Case(
        "sparse",
        cr.nn.sparse_softmax_cross_entropy_with_logits,
        lambda labels, logits: F.cross_entropy(logits, labels, reduction="none"),
        CLASSES,
        False,
    ),
    Case(
        "sigmoid",
        cr.nn.sigmoid_cross_entropy_with_logits,
        lambda labels, logits: F.binary_cross_entropy_with_logits(logits, labels, reduction="none"),
        PROBABILITIES,
        True,
    ),
]


def _params():
    """Every case with the rewrites on and off, fetched together and apart."""
    return [
        pytest.param(
            case,
            optimize,
            together,
            id=f"{case.name}-rewrites_{'on' if optimize else 'off'}-{together}",
        )
        for case in CASES
        for optimize in (True, False)
        for together in ("together", "apart")
    ]


def _direction(case):
    """A fixed direction ``v`` for the Hessian-vector products (one per differentiable input)."""
    rng = np.random.default_rng(7)
    return rng.standard_normal(case.labels.shape), rng.standard_normal(LOGITS.shape)


def _build(case):
    """The mean loss on ``[None, k]`` placeholders, its gradients and its second gradients."""
    if case.sparse:
        labels = cr.placeholder(cr.int64, shape=[None])
    else:
        labels = cr.placeholder(cr.float64, shape=[None, 3])
    logits = cr.placeholder(cr.float64, shape=[None, 3])
    loss = cr.reduce_mean(case.cr_fn(labels=labels, logits=logits))
    first = cr.gradients(loss, [labels, logits])
    v_labels, v_logits = _direction(case)
    product = cr.reduce_sum(first[1] * v_logits)
    if first[0] is not None:
        product = product + cr.reduce_sum(first[0] * v_labels)
    second = cr.gradients(product, [labels, logits])
    fetches = {"loss": loss, "d_logits": first[1], "dd_logits": second[1]}
    if first[0] is not None:
        fetches["d_labels"] = first[0]
    if second[0] is not None:
        fetches["dd_labels"] = second[0]
    return fetches, {labels: case.labels, logits: LOGITS}


def _torch_reference(case):
    """The same loss, gradients and Hessian-vector products from PyTorch autograd."""
    labels = torch.tensor(case.labels, requires_grad=case.labels_get_gradient)
    logits = torch.tensor(LOGITS, requires_grad=True)
    loss = case.torch_fn(labels, logits).mean()
    inputs = [labels, logits] if case.labels_get_gradient else [logits]
    first = torch.autograd.grad(loss, inputs, create_graph=True)
    v_labels, v_logits = _direction(case)
    product = (first[-1] * torch.tensor(v_logits)).sum()
    if case.labels_get_gradient:
        product = product + (first[0] * torch.tensor(v_labels)).sum()
    second = torch.autograd.grad(product, inputs, allow_unused=True)
    reference = {"loss": loss, "d_logits": first[-1], "dd_logits": second[-1]}
    if case.labels_get_gradient:
        reference["d_labels"] = first[0]
        reference["dd_labels"] = second[0]
    return {
        k: np.zeros(case.labels.shape) if t is None else t.detach().numpy()
        for k, t in reference.items()
    }


def _fetch(fetches, feed, optimize, together):
    """Every fetch in one run, or each in a run of its own, of one session."""
    with cr.Session(optimize=optimize) as session:
        if together == "together":
            return session.run(fetches, feed)
        return {name: session.run(node, feed) for name, node in fetches.items()}


@pytest.mark.parametrize("case, optimize, together", _params())
def test_cross_entropy_matches_torch_fetched_together_or_apart(case, optimize, together):
    """Loss, gradients and second-order gradients equal PyTorch's however they are fetched."""
    fetches, feed = _build(case)
    got = _fetch(fetches, feed, optimize, together)
    expected = _torch_reference(case)
    assert set(got) == set(expected)
    for name, value in got.items():
        np.testing.assert_allclose(value, expected[name], rtol=1e-10, atol=1e-12, err_msg=name)


# -- the bug report: one gradient-descent step on unnormalised labels ------------------------------
def _step_expected_by_numpy():
    """``logits - mean-loss gradient``: ``(softmax * sum(labels) - labels) / batch`` per row."""
    e = np.exp(LOGITS - LOGITS.max(axis=-1, keepdims=True))
    softmax = e / e.sum(axis=-1, keepdims=True)
    grad = softmax * UNNORMALISED.sum(axis=-1, keepdims=True) - UNNORMALISED
    return LOGITS - 1.0 * grad / len(LOGITS)


def _step_by_torch():
    logits = torch.tensor(LOGITS, requires_grad=True)
    loss = _dense_torch(torch.tensor(UNNORMALISED), logits).mean()
    (grad,) = torch.autograd.grad(loss, [logits])
    return (logits - 1.0 * grad).detach().numpy()


def test_expected_step_agrees_with_torch_and_the_bug_report():
    """The expected step of the test below is PyTorch's and the report's first row."""
    expected = _step_expected_by_numpy()
    np.testing.assert_allclose(expected, _step_by_torch(), rtol=1e-12)
    np.testing.assert_allclose(expected[0], [1.77, 1.37, 0.36], atol=0.005)


@pytest.mark.parametrize(
    "optimize", [pytest.param(True, id="rewrites_on"), pytest.param(False, id="rewrites_off")]
)
def test_one_descent_step_on_unnormalised_labels(optimize):
    """The bug report: a step on the mean v2 cross-entropy with labels fed as ``[None, 3]``."""
    logits = cr.Variable(LOGITS)
    labels = cr.placeholder(cr.float64, shape=[None, 3])
    loss = cr.reduce_mean(cr.nn.softmax_cross_entropy_with_logits_v2(labels=labels, logits=logits))
    step = cr.train.GradientDescentOptimizer(1.0).minimize(loss)
    with cr.Session(optimize=optimize) as session:
        session.run(cr.global_variables_initializer())
        session.run(step, {labels: UNNORMALISED})
        after = session.run(logits)
    np.testing.assert_allclose(after, _step_expected_by_numpy(), rtol=1e-12)
