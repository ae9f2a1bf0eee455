"""map_fn, scan, foldl and foldr (built on while_loop): values and gradients against PyTorch
loops written out and central finite differences."""

import numpy as np
import pytest
import torch

import chainrule as cr
from oracle import check_op


def run(fetches, feed=None):
    with cr.Session() as s:
        return s.run(fetches, feed)


def test_map_fn_matches_a_python_loop(rng):
    check_op(
        lambda x, w: cr.map_fn(lambda row: cr.tanh(row * w) + cr.reduce_sum(row), x),
        lambda x, w: torch.stack([torch.tanh(row * w) + row.sum() for row in x]),
        [rng.standard_normal((4, 3)), rng.standard_normal((3,))],
        second_order=True,
    )


def test_map_fn_with_another_output_dtype_and_shape():
    x = cr.constant(np.arange(6.0).reshape(3, 2))
    lengths = cr.map_fn(lambda row: cr.cast(cr.reduce_sum(row), cr.int32), x, dtype=cr.int32)
    outer = cr.map_fn(lambda row: cr.reshape(row, [2, 1]) * row, x)
    got_lengths, got_outer = run([lengths, outer])
    np.testing.assert_array_equal(got_lengths, [1, 5, 9])
    assert got_outer.shape == (3, 2, 2)
    np.testing.assert_array_equal(got_outer[1], [[4, 6], [6, 9]])


def test_map_fn_over_nested_elements():
    a = cr.constant([1.0, 2.0])
    b = cr.constant([10.0, 20.0])
    out = cr.map_fn(lambda pair: pair[0] + pair[1], (a, b), dtype=cr.float32)
    np.testing.assert_array_equal(run(out), [11, 22])


@pytest.mark.parametrize("reverse", [False, True])
def test_scan_matches_a_python_loop(rng, reverse):
    def torch_scan(x, a0):
        acc, outs = a0, []
        rows = list(x)[::-1] if reverse else list(x)
        for row in rows:
            acc = acc * torch.sin(row) + row
            outs.append(acc)
        return torch.stack(outs[::-1] if reverse else outs)

    check_op(
        lambda x, a0: cr.scan(lambda acc, row: acc * cr.sin(row) + row, x, a0, reverse=reverse),
        torch_scan,
        [rng.standard_normal((5, 2)), rng.standard_normal((2,))],
        second_order=True,
    )


def test_scan_without_initializer_starts_from_the_first_element():
    x = cr.constant([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(run(cr.scan(lambda a, b: a + b, x)), [1, 3, 6, 10])
    np.testing.assert_array_equal(run(cr.scan(lambda a, b: a + b, x, reverse=True)), [10, 9, 7, 4])


def test_foldl_and_foldr_match_python_loops(rng):
    def torch_fold(x, a0, rows):
        acc = a0
        for row in rows(x):
            acc = acc * 0.5 + torch.cos(row) * acc
        return acc

    inputs = [rng.standard_normal((4, 3)), rng.standard_normal((3,))]
    fn = lambda acc, row: acc * 0.5 + cr.cos(row) * acc  # noqa: E731
    check_op(
        lambda x, a0: cr.foldl(fn, x, a0),
        lambda x, a0: torch_fold(x, a0, list),
        inputs,
        second_order=True,
    )
    check_op(
        lambda x, a0: cr.foldr(fn, x, a0),
        lambda x, a0: torch_fold(x, a0, lambda t: list(t)[::-1]),
        inputs,
        second_order=True,
    )


def test_folds_without_initializer():
    x = cr.constant([1.0, 2.0, 3.0])
    assert run(cr.foldl(lambda a, b: a * 10 + b, x)) == 123.0
    assert run(cr.foldr(lambda a, b: a * 10 + b, x)) == 321.0


def test_map_fn_over_no_elements():
    x = cr.placeholder(cr.float32, [None, 2])
    out = cr.map_fn(lambda row: row * 2.0, x)
    assert run(out, {x: np.zeros((0, 2))}).shape == (0, 2)


def test_map_fn_gradients_reach_a_captured_variable_and_a_cond_inside(rng):
    w0 = rng.standard_normal(3)
    w = cr.Variable(w0)
    x = cr.placeholder(cr.float64, [None, 3])

    def per_row(row):
        return cr.cond(cr.reduce_sum(row) > 0, lambda: row * w, lambda: cr.sin(row) + w)

    out = cr.map_fn(per_row, x)
    gw, gx = cr.gradients(cr.reduce_sum(out * out), [w, x])
    rows = rng.standard_normal((4, 3))
    tw = torch.tensor(w0, requires_grad=True)
    tx = torch.tensor(rows, requires_grad=True)
    expected = torch.stack([r * tw if r.sum() > 0 else torch.sin(r) + tw for r in tx])
    want_w, want_x = torch.autograd.grad((expected * expected).sum(), [tw, tx])
    with cr.Session() as s:
        s.run(w.initializer)
        got, got_w, got_x = s.run([out, gw, gx], {x: rows})
    np.testing.assert_allclose(got, expected.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(got_w, want_w.numpy(), atol=1e-12)
    np.testing.assert_allclose(got_x, want_x.numpy(), atol=1e-12)


def test_scan_with_a_nested_carry():
    x = cr.constant([1.0, 2.0, 3.0])
    sums, products = cr.scan(lambda acc, v: (acc[0] + v, acc[1] * v), x, (0.0, 1.0))
    got_sums, got_products = run([sums, products])
    np.testing.assert_array_equal(got_sums, [1, 3, 6])
    np.testing.assert_array_equal(got_products, [1, 2, 6])


def test_map_fn_output_dtype_must_be_declared_when_it_differs():
    x = cr.constant([1, 2, 3])
    with pytest.raises(cr.errors.DTypeError, match="fn returned float32 where int32.*dtype="):
        cr.map_fn(lambda v: cr.cast(v, cr.float32) * 0.5, x)
    halves = cr.map_fn(lambda v: cr.cast(v, cr.float32) * 0.5, x, dtype=cr.float32)
    np.testing.assert_array_equal(run(halves), [0.5, 1.0, 1.5])


def test_append_and_its_gradients_to_second_order(rng):
    from chainrule.ops.control_flow_ops import Append

    check_op(
        lambda a, b: cr.sin(Append(a, b)) * Append(a, b),
        lambda a, b: torch.sin(torch.cat([a, b.flatten()])) * torch.cat([a, b.flatten()]),
        [rng.standard_normal(3), rng.standard_normal((2, 2))],
        second_order=True,
        unknown_shapes=(),
    )


def test_a_loop_keeps_only_what_its_gradient_reads():
    """map_fn's accumulator grows each iteration: keeping it per iteration would cost memory
    quadratic in the number of elements."""
    x = cr.placeholder(cr.float64, [None, 3])
    out = cr.map_fn(lambda row: cr.sin(row) * 2.0, x)
    cr.gradients(cr.reduce_sum(out), x)
    (loop,) = [op for op in cr.get_default_graph().get_operations() if op.type == "While"]
    (accumulator,) = [t for t in loop.body.inputs[: loop.count] if t.dtype == cr.float64]
    assert accumulator.shape == (None,)
    assert accumulator not in loop.saved and loop.body.inputs[0] in loop.saved


def test_back_prop_false_gives_no_gradient_through_map_fn_scan_and_the_folds():
    x = cr.placeholder(cr.float64, [3])
    a = cr.constant(1.0, cr.float64)
    mapped = cr.map_fn(lambda v: v * v, x, back_prop=False)
    scanned = cr.scan(lambda acc, v: acc * v, x, a, back_prop=False)
    folded = cr.foldl(lambda acc, v: acc + v * v, x, a, back_prop=False)
    for y in (mapped, scanned, folded, cr.foldr(lambda acc, v: acc * v, x, a, back_prop=False)):
        assert cr.gradients(y, x)[0] is None
    np.testing.assert_array_equal(run(mapped, {x: [1.0, 2.0, 3.0]}), [1.0, 4.0, 9.0])
    assert run(folded, {x: [1.0, 2.0, 3.0]}) == 15.0
