"""Shared fixtures: each test starts with a fresh default graph; the op and gradient suites run
twice, with the plan rewrites on and off, and must agree with the oracles both ways."""

import numpy as np
import pytest

import chainrule as cr

OP_AND_GRADIENT_SUITES = {
    "test_math_ops",
    "test_array_ops",
    "test_reductions",
    "test_linalg",
    "test_broadcasting",
    "test_nn",
    "test_losses",
    "test_autodiff",
    "test_control_flow",
    "test_control_flow_functional",
    "test_rnn",
}


def pytest_generate_tests(metafunc):
    if metafunc.module.__name__ in OP_AND_GRADIENT_SUITES:
        metafunc.parametrize("rewrites", ["rewrites_on", "rewrites_off"], indirect=True)


@pytest.fixture(autouse=True)
def rewrites(request, monkeypatch):
    """``rewrites_off`` makes every session of the test run its plans without rewrites."""
    mode = getattr(request, "param", "rewrites_on")
    if mode == "rewrites_off":
        monkeypatch.setenv("CHAINRULE_REWRITES", "0")
    return mode


@pytest.fixture(autouse=True)
def fresh_graph():
    graph = cr.reset_default_graph()
    yield graph
    cr.reset_default_graph()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
