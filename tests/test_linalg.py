"""matmul (2-D, batched, broadcast batches, transposes), tensordot and einsum against PyTorch,
with second derivatives, and the shape errors they raise at construction."""

import inspect

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.errors import InvalidArgumentError, ShapeError
from oracle import RANK_KNOWN, HiddenShape, check_op, run


def torch_matmul(a, b, transpose_a=False, transpose_b=False):
    if transpose_a:
        a = a.transpose(-1, -2)
    if transpose_b:
        b = b.transpose(-1, -2)
    return a @ b


# -- matmul --------------------------------------------------------------------------------
MATMUL_SHAPES = [
    ("2d", (3, 4), (4, 5)),
    ("batched", (2, 3, 4), (2, 4, 5)),
    ("batch_times_matrix", (2, 3, 4), (4, 5)),
    ("matrix_times_batch", (3, 4), (2, 4, 5)),
    ("broadcast_batches", (2, 1, 3, 4), (5, 4, 2)),
]


def transposed(shape, flag):
    return shape[:-2] + shape[-2:][::-1] if flag else shape


@pytest.mark.parametrize("transpose_b", [False, True])
@pytest.mark.parametrize("transpose_a", [False, True])
@pytest.mark.parametrize("name, a_shape, b_shape", MATMUL_SHAPES, ids=[m[0] for m in MATMUL_SHAPES])
def test_matmul_matches_torch_with_second_derivatives(
    name, a_shape, b_shape, transpose_a, transpose_b, rng
):
    a = rng.standard_normal(transposed(a_shape, transpose_a))
    b = rng.standard_normal(transposed(b_shape, transpose_b))

    def cr_fn(x, y):
        return cr.matmul(x, y, transpose_a=transpose_a, transpose_b=transpose_b)

    def torch_fn(x, y):
        return torch_matmul(x, y, transpose_a, transpose_b)

    check_op(cr_fn, torch_fn, [a, b])
    check_op(
        lambda x, y: cr.square(cr_fn(x, y)),
        lambda x, y: torch_fn(x, y) ** 2,
        [a, b],
        second_order=True,
    )


def test_matmul_static_shapes():
    a = cr.placeholder(cr.float32, shape=[None, 3, 4])
    b = cr.placeholder(cr.float32, shape=[4, 5])
    assert cr.matmul(a, b).shape == (None, 3, 5)
    c = cr.placeholder(cr.float32, shape=[3, 4])
    assert cr.matmul(b, c, transpose_a=True, transpose_b=True).shape == (5, 3)
    assert cr.matmul(cr.placeholder(cr.float32), b).shape is None
    assert (a @ b).dtype == cr.float32


def test_matmul_gradient_sums_broadcast_batches_at_run_time(rng):
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5))
    check_op(
        lambda x, y: cr.square(
            cr.matmul(HiddenShape(x, (None, None, 4)), HiddenShape(y, (None, None)))
        ),
        lambda x, y: (x @ y) ** 2,
        [a, b],
        second_order=True,
    )


def test_matmul_adjoint_aliases_transpose(rng):
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((5, 4))
    node = cr.matmul(cr.constant(a), cr.constant(b), adjoint_a=True, adjoint_b=True)
    np.testing.assert_allclose(run(node), a.T @ b.T)


def test_matmul_inner_dimension_error_names_op_node_line_and_shapes():
    a = cr.constant(np.ones((3, 2)))
    b = cr.constant(np.ones((3, 2)))
    line = inspect.currentframe().f_lineno + 2
    with pytest.raises(ShapeError) as caught:
        cr.matmul(a, b, name="MatMul_3")
    message = str(caught.value)
    assert message == (
        f"MatMul 'MatMul_3' (test_linalg.py:{line}): inner dimensions differ: (3, 2) @ (3, 2)"
    )
    assert caught.value.node.name == "MatMul_3"


def test_matmul_operator_error_points_at_the_users_line():
    a = cr.constant(np.ones((2, 3)))
    line = inspect.currentframe().f_lineno + 2
    with pytest.raises(ShapeError, match=rf"^MatMul 'MatMul' \(test_linalg.py:{line}\): inner"):
        a @ a


def test_matmul_errors_mention_transposes_and_batches():
    a = cr.constant(np.ones((3, 2)))
    b = cr.constant(np.ones((2, 3)))
    with pytest.raises(ShapeError, match=r"\(3, 2\) @ \(2, 3\) \(transpose_b\)"):
        cr.matmul(a, b, transpose_b=True)
    with pytest.raises(ShapeError, match=r"batch dimensions \(2,\) and \(3,\)"):
        cr.matmul(cr.constant(np.ones((2, 3, 4))), cr.constant(np.ones((3, 4, 5))))
    with pytest.raises(ShapeError, match="rank >= 2"):
        cr.matmul(cr.constant(np.ones(3)), cr.constant(np.ones((3, 2))))


# -- tensordot -----------------------------------------------------------------------------
TENSORDOT = [
    ("outer", (2, 3), (4,), 0, 0),
    ("one_axis", (2, 3), (3, 4), 1, 1),
    ("two_axes", (2, 3, 4), (3, 4, 5), 2, 2),
    ("explicit_pairs", (2, 3, 4), (4, 5, 2), [[0, 2], [2, 0]], ([0, 2], [2, 0])),
    ("negative_axes", (2, 3, 4), (5, 3), [[-2], [-1]], ([-2], [-1])),
    ("scalar_axes", (3, 4), (4, 2), [1, 0], ([1], [0])),
]


@pytest.mark.parametrize(
    "name, a_shape, b_shape, axes, torch_axes", TENSORDOT, ids=[t[0] for t in TENSORDOT]
)
def test_tensordot_matches_torch(name, a_shape, b_shape, axes, torch_axes, rng):
    a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
    check_op(
        lambda x, y: cr.square(cr.tensordot(x, y, axes)),
        lambda x, y: torch.tensordot(x, y, dims=torch_axes) ** 2,
        [a, b],
        second_order=True,
        unknown_shapes=RANK_KNOWN,
    )


def test_tensordot_errors():
    a = cr.constant(np.ones((2, 3)))
    line = inspect.currentframe().f_lineno + 2
    with pytest.raises(ShapeError) as caught:
        cr.tensordot(a, cr.constant(np.ones((4, 2))), 1)
    assert str(caught.value) == (
        f"Tensordot 'Tensordot' (test_linalg.py:{line}): contracted dimensions differ: "
        "axes [1] of (2, 3) and axes [0] of (4, 2)"
    )
    with pytest.raises(InvalidArgumentError, match="axes=3"):
        cr.tensordot(a, a, 3)
    with pytest.raises(InvalidArgumentError, match="2 axes of a but 1"):
        cr.tensordot(a, a, [[0, 1], [0]])
    with pytest.raises(InvalidArgumentError, match="repeat"):
        cr.tensordot(a, a, [[0, -2], [0, 1]])
    with pytest.raises(ShapeError, match="known rank"):
        cr.tensordot(cr.placeholder(cr.float32), a, 1)


# -- einsum --------------------------------------------------------------------------------
EINSUM = [
    ("matmul", "ij,jk->ik", [(3, 4), (4, 5)]),
    ("batch_matmul", "bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("implicit", "ij,jk", [(3, 4), (4, 5)]),
    ("transpose", "ij->ji", [(3, 4)]),
    ("sum_all", "ij->", [(3, 4)]),
    ("row_sums", "ij->i", [(3, 4)]),
    ("trace", "ii", [(4, 4)]),
    ("diagonal", "ii->i", [(4, 4)]),
    ("diagonal_of_batch", "bii->bi", [(2, 3, 3)]),
    ("outer", "i,j->ij", [(3,), (4,)]),
    ("bilinear", "i,ij,j->", [(3,), (3, 4), (4,)]),
    ("chain", "ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("same_letters_twice", "ij,ij->i", [(3, 4), (3, 4)]),
    ("broadcast_sum", "ij,k->ik", [(3, 4), (5,)]),
    ("upper_case", "Ab,bC->AC", [(2, 3), (3, 4)]),
]


@pytest.mark.parametrize("name, equation, shapes", EINSUM, ids=[e[0] for e in EINSUM])
def test_einsum_matches_torch_with_second_derivatives(name, equation, shapes, rng):
    arrays = [rng.standard_normal(shape) for shape in shapes]
    check_op(lambda *xs: cr.einsum(equation, *xs), lambda *ts: torch.einsum(equation, *ts), arrays)
    check_op(
        lambda *xs: cr.square(cr.einsum(equation, *xs)),
        lambda *ts: torch.einsum(equation, *ts) ** 2,
        arrays,
        second_order=True,
    )


@pytest.mark.parametrize("name, equation, shapes", EINSUM[6:9], ids=[e[0] for e in EINSUM[6:9]])
def test_einsum_diagonal_gradients_with_shapes_known_at_run_time(name, equation, shapes, rng):
    arrays = [rng.standard_normal(shape) for shape in shapes]
    check_op(
        lambda x: cr.square(cr.einsum(equation, HiddenShape(x, (None,) * len(shapes[0])))),
        lambda t: torch.einsum(equation, t) ** 2,
        arrays,
        second_order=True,
    )


def test_einsum_same_operand_twice(rng):
    value = rng.standard_normal((3, 3))
    check_op(
        lambda x: cr.einsum("ij,jk->ik", x, x),
        lambda t: torch.einsum("ij,jk->ik", t, t),
        [value],
        second_order=True,
    )


def test_einsum_accepts_a_list_of_operands_and_a_name(rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3,))
    node = cr.einsum("ij,j->i", [cr.constant(a), cr.constant(b)], name="contract")
    assert node.name == "contract:0" and node.shape == (2,)
    np.testing.assert_allclose(run(node), a @ b)


def test_einsum_static_shape_and_errors():
    a = cr.placeholder(cr.float32, shape=[None, 3])
    b = cr.placeholder(cr.float32, shape=[3, 4])
    assert cr.einsum("ij,jk->ik", a, b).shape == (None, 4)
    assert cr.einsum("ij,jk->ki", cr.placeholder(cr.float32), b).shape == (4, None)
    with pytest.raises(ShapeError, match="axis 'j' has size 3 in one operand but 5"):
        cr.einsum("ij,jk->ik", b[:, :3], cr.constant(np.ones((5, 2), np.float32)))
    with pytest.raises(ShapeError, match="names 3 axes"):
        cr.einsum("ijk->i", b)
    with pytest.raises(InvalidArgumentError, match="2 operands but got 1"):
        cr.einsum("ij,jk->ik", b)
    with pytest.raises(InvalidArgumentError, match=r"'\.\.\.'"):
        cr.einsum("...ij->...ji", b)
    with pytest.raises(InvalidArgumentError, match="in no operand"):
        cr.einsum("ij->iz", b)
    with pytest.raises(InvalidArgumentError, match="repeats"):
        cr.einsum("ij->ii", b)
    with pytest.raises(InvalidArgumentError, match="letters"):
        cr.einsum("i1->i", b)


def test_einsum_refuses_size_one_broadcasting_at_run_time():
    a = cr.placeholder(cr.float64, shape=[None, None])
    b = cr.placeholder(cr.float64, shape=[None, None])
    product = cr.einsum("ij,jk->ik", a, b)
    np.testing.assert_allclose(run(product, {a: np.ones((2, 3)), b: np.ones((3, 2))}), 3.0)
    with pytest.raises(ShapeError, match=r"Einsum 'Einsum' .*axis 'j' has size 1"):
        run(product, {a: np.ones((2, 1)), b: np.ones((3, 2))})
