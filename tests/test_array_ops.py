"""Array ops: values and gradients against PyTorch and finite differences, static shape
inference, shape errors, run-time values of the non-differentiable ops, and gradients when
shapes are only known at run time."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import chainrule as cr
from chainrule.errors import DTypeError, InvalidArgumentError, ShapeError
from oracle import RANK_KNOWN, check_op


def run(fetches, feed=None):
    with cr.Session() as sess:
        return sess.run(fetches, feed)


def randn(rng, *shape):
    return rng.standard_normal(shape)


# -- gradients against PyTorch and finite differences ------------------------------------------
@pytest.mark.parametrize(
    ("in_shape", "target"),
    [((2, 3, 4), (4, -1)), ((6,), (2, 3)), ((2, 3), (3, 1, 2)), ((1, 4), (-1,))],
)
def test_reshape_gradient(rng, in_shape, target):
    torch_target = tuple(target)
    check_op(
        lambda x: cr.reshape(x, target),
        lambda x: x.reshape(torch_target),
        [randn(rng, *in_shape)],
    )


def test_reshape_second_order(rng):
    check_op(
        lambda x: cr.square(cr.reshape(x, [3, -1])) * cr.reshape(x, [3, 2]),
        lambda x: x.reshape(3, -1) ** 2 * x.reshape(3, 2),
        [randn(rng, 2, 3)],
        second_order=True,
    )


@pytest.mark.parametrize(
    ("shape", "perm"),
    [((2, 3), None), ((2, 3, 4), [2, 0, 1]), ((2, 3, 4), None), ((4,), [0])],
)
def test_transpose_gradient(rng, shape, perm):
    torch_perm = perm if perm is not None else list(range(len(shape)))[::-1]
    check_op(
        lambda x: cr.transpose(x, perm),
        lambda x: x.permute(*torch_perm),
        [randn(rng, *shape)],
    )


def test_transpose_second_order(rng):
    check_op(
        lambda x: cr.square(cr.transpose(x, [1, 2, 0])) * cr.transpose(x, [1, 2, 0]),
        lambda x: x.permute(1, 2, 0) ** 3,
        [randn(rng, 2, 3, 2)],
        second_order=True,
    )


@pytest.mark.parametrize(("shape", "axis"), [((2, 3), 0), ((2, 3), -1), ((2, 3), 1), ((), 0)])
def test_expand_dims_gradient(rng, shape, axis):
    check_op(
        lambda x: cr.expand_dims(x, axis),
        lambda x: x.unsqueeze(axis),
        [randn(rng, *shape)],
    )


@pytest.mark.parametrize(
    ("shape", "axis", "torch_dims"),
    [
        ((1, 3, 1), None, None),
        ((1, 3, 1), [0], (0,)),
        ((2, 1), -1, (-1,)),
        ((1, 1), [0, 1], (0, 1)),
    ],
)
def test_squeeze_gradient(rng, shape, axis, torch_dims):
    check_op(
        lambda x: cr.squeeze(x, axis),
        lambda x: x.squeeze() if torch_dims is None else x.squeeze(torch_dims),
        [randn(rng, *shape)],
    )


@pytest.mark.parametrize(
    ("shapes", "axis"),
    [([(2, 3), (1, 3)], 0), ([(2, 1), (2, 3), (2, 2)], -1), ([(2, 2, 1), (2, 2, 2)], 2)],
)
def test_concat_gradient(rng, shapes, axis):
    check_op(
        lambda *xs: cr.concat(list(xs), axis),
        lambda *xs: torch.cat(xs, dim=axis),
        [randn(rng, *s) for s in shapes],
    )


def test_concat_second_order(rng):
    check_op(
        lambda a, b: cr.square(cr.concat([a * b, a], 1)),
        lambda a, b: torch.cat([a * b, a], dim=1) ** 2,
        [randn(rng, 2, 2), randn(rng, 2, 2)],
        second_order=True,
    )


@pytest.mark.parametrize(("shape", "n", "axis"), [((3,), 2, 0), ((2, 3), 3, -1), ((2, 3), 2, 1)])
def test_stack_gradient(rng, shape, n, axis):
    check_op(
        lambda *xs: cr.stack(list(xs), axis=axis),
        lambda *xs: torch.stack(xs, dim=axis),
        [randn(rng, *shape) for _ in range(n)],
    )


def test_stack_second_order(rng):
    check_op(
        lambda a, b: cr.square(cr.stack([a, a * b], axis=1)),
        lambda a, b: torch.stack([a, a * b], dim=1) ** 2,
        [randn(rng, 3), randn(rng, 3)],
        second_order=True,
    )


@pytest.mark.parametrize(("shape", "axis"), [((3, 2), 0), ((2, 3, 2), 1), ((2, 4), -1)])
def test_unstack_gradient(rng, shape, axis):
    def cr_fn(x):
        pieces = cr.unstack(x, axis=axis)
        return cr.add_n([p * float(i + 1) for i, p in enumerate(pieces)])

    def torch_fn(x):
        return sum(p * float(i + 1) for i, p in enumerate(torch.unbind(x, dim=axis)))

    # unstack takes its output count from the size of the unstacked axis
    unknown_shapes = () if axis == 0 else RANK_KNOWN
    check_op(cr_fn, torch_fn, [randn(rng, *shape)], unknown_shapes=unknown_shapes)


def test_unstack_second_order(rng):
    def cr_fn(x):
        a, b, c = cr.unstack(x, axis=1)
        return a * b + cr.square(c)

    def torch_fn(x):
        a, b, c = torch.unbind(x, dim=1)
        return a * b + c**2

    check_op(cr_fn, torch_fn, [randn(rng, 2, 3)], second_order=True, unknown_shapes=RANK_KNOWN)


@pytest.mark.parametrize(
    ("shape", "splits", "axis", "torch_sizes"),
    [
        ((2, 6), 3, 1, [2, 2, 2]),
        ((6, 2), [1, -1, 2], 0, [1, 3, 2]),
        ((2, 5), [2, 3], -1, [2, 3]),
        ((4,), 1, 0, [4]),
    ],
)
def test_split_gradient(rng, shape, splits, axis, torch_sizes):
    def cr_fn(x):
        pieces = cr.split(x, splits, axis=axis)
        return cr.concat([cr.square(p) * float(i + 1) for i, p in enumerate(pieces)], axis)

    def torch_fn(x):
        pieces = torch.split(x, torch_sizes, dim=axis)
        return torch.cat([p**2 * float(i + 1) for i, p in enumerate(pieces)], dim=axis)

    check_op(cr_fn, torch_fn, [randn(rng, *shape)], second_order=True)


@pytest.mark.parametrize(
    ("shape", "indices", "axis"),
    [
        ((4, 3), [2, 0, 2], 0),
        ((4, 3), [[1, 1], [3, 0]], 0),
        ((2, 5), [4, 0, 4, 4], 1),
        ((2, 3, 2), [[2], [0]], -2),
        ((3,), 1, 0),
    ],
)
def test_gather_gradient(rng, shape, indices, axis):
    def torch_fn(x):
        idx = torch.tensor(indices)
        a = axis % x.dim()
        return x[(slice(None),) * a + (idx,)]

    check_op(lambda x: cr.gather(x, indices, axis=axis), torch_fn, [randn(rng, *shape)])


def test_gather_second_order(rng):
    check_op(
        lambda x: cr.square(cr.gather(x, [0, 2, 0], axis=1)),
        lambda x: x[:, torch.tensor([0, 2, 0])] ** 2,
        [randn(rng, 2, 3)],
        second_order=True,
    )


@pytest.mark.parametrize(
    ("shape", "multiples"), [((2, 3), [2, 1]), ((3,), [3]), ((2, 1, 2), [1, 3, 2]), ((), [])]
)
def test_tile_gradient(rng, shape, multiples):
    check_op(
        lambda x: cr.tile(x, multiples),
        lambda x: x.repeat(*multiples) if multiples else x,
        [randn(rng, *shape)],
    )


def test_tile_second_order(rng):
    check_op(
        lambda x: cr.square(cr.tile(x, [2, 3])),
        lambda x: x.repeat(2, 3) ** 2,
        [randn(rng, 2, 2)],
        second_order=True,
    )


def torch_mirror_pad(x, paddings, mode):
    """Mirror padding through index selection (PyTorch has no SYMMETRIC mode)."""
    for axis, (before, after) in enumerate(paddings):
        index = np.pad(np.arange(x.shape[axis]), (before, after), mode=mode)
        x = x.index_select(axis, torch.tensor(index))
    return x


@pytest.mark.parametrize(
    ("shape", "paddings"), [((2, 3), [[1, 2], [0, 1]]), ((4,), [[3, 0]]), ((3, 3, 3), [[1, 1]] * 3)]
)
def test_pad_constant_gradient(rng, shape, paddings):
    torch_pad = [p for pair in reversed(paddings) for p in pair]
    check_op(
        lambda x: cr.pad(x, paddings, constant_values=0.5),
        lambda x: F.pad(x, torch_pad, value=0.5),
        [randn(rng, *shape)],
    )


@pytest.mark.parametrize("mode", ["REFLECT", "SYMMETRIC", "reflect"])
@pytest.mark.parametrize(
    ("shape", "paddings"),
    [((3, 4), [[2, 1], [0, 3]]), ((4,), [[3, 2]]), ((2, 3), [[1, 1], [2, 2]])],
)
def test_pad_mirror_gradient(rng, mode, shape, paddings):
    np_mode = mode.lower()
    check_op(
        lambda x: cr.pad(x, paddings, mode=mode),
        lambda x: torch_mirror_pad(x, paddings, np_mode),
        [randn(rng, *shape)],
    )


@pytest.mark.parametrize("mode", ["CONSTANT", "REFLECT", "SYMMETRIC"])
def test_pad_second_order(rng, mode):
    paddings = [[1, 1], [2, 0]]

    def torch_fn(x):
        if mode == "CONSTANT":
            padded = F.pad(x, [2, 0, 1, 1])
        else:
            padded = torch_mirror_pad(x, paddings, mode.lower())
        return padded**2

    check_op(
        lambda x: cr.square(cr.pad(x, paddings, mode=mode)),
        torch_fn,
        [randn(rng, 3, 3)],
        second_order=True,
    )


@pytest.mark.parametrize(
    ("shape", "target"), [((3,), (2, 3)), ((2, 1), (2, 4)), ((1,), (3, 2, 1)), ((), (2, 2))]
)
def test_broadcast_to_gradient(rng, shape, target):
    check_op(
        lambda x: cr.broadcast_to(x, target),
        lambda x: torch.broadcast_to(x, target),
        [randn(rng, *shape)],
    )


def test_broadcast_to_second_order(rng):
    check_op(
        lambda x: cr.square(cr.broadcast_to(x, [3, 2])),
        lambda x: torch.broadcast_to(x, (3, 2)) ** 2,
        [randn(rng, 2)],
        second_order=True,
    )


SLICE_CASES = [
    (lambda x: x[1], lambda x: x[1]),
    (lambda x: x[-1], lambda x: x[-1]),
    (lambda x: x[:, -2], lambda x: x[:, -2]),
    (lambda x: x[::2], lambda x: x[::2]),
    (lambda x: x[::-1], lambda x: x.flip(0)),
    (lambda x: x[1:, ::-2], lambda x: x[1:].flip(1)[:, ::2]),
    (lambda x: x[..., 1], lambda x: x[..., 1]),
    (lambda x: x[None, :, 1:], lambda x: x[None, :, 1:]),
    (lambda x: x[..., None], lambda x: x[..., None]),
    (lambda x: x[0, 1:3], lambda x: x[0, 1:3]),
    (lambda x: x[-1, ..., None, 0], lambda x: x[-1, ..., None, 0]),
    (lambda x: x[np.int64(1), 5:], lambda x: x[1, 5:]),
]


@pytest.mark.parametrize(("cr_fn", "torch_fn"), SLICE_CASES)
def test_slicing_gradient(rng, cr_fn, torch_fn):
    check_op(cr_fn, torch_fn, [randn(rng, 3, 4)])


def test_slicing_second_order(rng):
    check_op(
        lambda x: x[:, ::2] * x[:, 1::2] + cr.square(x[::-1, None, -1]),
        lambda x: x[:, ::2] * x[:, 1::2] + x.flip(0)[:, None, -1] ** 2,
        [randn(rng, 3, 4)],
        second_order=True,
    )


def test_tf_slice_gradient(rng):
    check_op(
        lambda x: cr.square(cr.slice(x, [1, 0, 2], [2, -1, 1])),
        lambda x: x[1:3, :, 2:3] ** 2,
        [randn(rng, 3, 2, 4)],
        second_order=True,
    )


def test_fill_gradient_flows_to_the_value(rng):
    check_op(
        lambda v: cr.fill([2, 3], v) * cr.fill([2, 3], v),
        lambda v: v.expand(2, 3) ** 2,
        [np.array(0.7)],
        second_order=True,
    )


# -- static shape inference ----------------------------------------------------------------------
def test_static_shapes_with_unknown_dims():
    x = cr.placeholder(cr.float32, shape=[None, 3, 4])
    y = cr.placeholder(cr.float32, shape=[None, 2, 4])
    assert cr.reshape(x, [-1, 12]).shape == (None, 12)
    assert cr.reshape(x, [-1]).shape == (None,)
    assert cr.transpose(x).shape == (4, 3, None)
    assert cr.transpose(x, [1, 0, 2]).shape == (3, None, 4)
    assert cr.expand_dims(x, 1).shape == (None, 1, 3, 4)
    assert cr.expand_dims(x, -1).shape == (None, 3, 4, 1)
    assert cr.squeeze(cr.expand_dims(x, 2), [2]).shape == (None, 3, 4)
    assert cr.squeeze(cr.expand_dims(x, 2)).shape is None
    assert cr.concat([x, y], 1).shape == (None, 5, 4)
    assert cr.concat([x, x], 0).shape == (None, 3, 4)
    assert cr.stack([x, x, x], axis=1).shape == (None, 3, 3, 4)
    assert cr.stack([x, x], axis=-1).shape == (None, 3, 4, 2)
    assert [p.shape for p in cr.unstack(x, axis=2)] == [(None, 3)] * 4
    assert [p.shape for p in cr.split(x, 2, axis=2)] == [(None, 3, 2)] * 2
    assert [p.shape for p in cr.split(x, [1, -1], axis=1)] == [(None, 1, 4), (None, 2, 4)]
    assert [p.shape for p in cr.split(x, 2, axis=0)] == [(None, 3, 4)] * 2
    assert cr.gather(x, [[0, 1, 2]], axis=1).shape == (None, 1, 3, 4)
    assert cr.gather(x, 0, axis=-1).shape == (None, 3)
    assert cr.tile(x, [2, 1, 3]).shape == (None, 3, 12)
    assert cr.pad(x, [[1, 1], [0, 2], [3, 0]]).shape == (None, 5, 7)
    assert cr.pad(x, [[0, 0], [1, 1], [2, 1]], mode="SYMMETRIC").shape == (None, 5, 7)
    assert cr.broadcast_to(cr.placeholder(cr.float32, shape=[None, 1]), [5, 3]).shape == (5, 3)
    assert x[0].shape == (3, 4)
    assert x[:, ::-2, None].shape == (None, 2, 1, 4)
    assert x[..., 1:3].shape == (None, 3, 2)
    assert x[1:].shape == (None, 3, 4)
    assert cr.slice(x, [0, 1, 0], [-1, 2, 4]).shape == (None, 2, 4)
    assert cr.shape(x).shape == (3,)
    assert cr.size(x).shape == ()
    assert cr.rank(x).shape == ()
    assert cr.one_hot(cr.placeholder(cr.int32, shape=[None]), 5).shape == (None, 5)
    assert cr.one_hot([[1, 2]], 3, axis=0).shape == (3, 1, 2)
    assert cr.one_hot([[1, 2]], 3, axis=1).shape == (1, 3, 2)
    assert cr.range(2, 11, 3).shape == (3,)
    assert cr.range(cr.placeholder(cr.int32, shape=[])).shape == (None,)


def test_static_shapes_with_unknown_rank():
    x = cr.placeholder(cr.float32)
    assert cr.transpose(x).shape is None
    assert cr.transpose(x, [1, 0]).shape == (None, None)
    assert cr.expand_dims(x, 0).shape is None
    assert cr.concat([x, cr.placeholder(cr.float32, shape=[2, None])], 0).shape == (None, None)
    assert cr.stack([x, x]).shape is None
    assert cr.reshape(x, [2, -1]).shape == (2, None)
    assert cr.tile(x, [2, 2]).shape == (None, None)
    assert cr.gather(x, [1]).shape is None
    assert x[0].shape is None
    assert cr.shape(x).shape == (None,)
    assert [p.shape for p in cr.unstack(x, num=2)] == [None, None]


def test_dtypes_are_inferred():
    f = cr.placeholder(cr.float64, shape=[2])
    assert cr.stack([f[0], 1.0]).dtype == cr.float64
    assert cr.concat([[1, 2], [3]], 0).dtype == cr.int32
    assert cr.gather(f, [0]).dtype == cr.float64
    assert cr.one_hot([0], 2).dtype == cr.float32
    assert cr.one_hot([0], 2, on_value=5, off_value=-1).dtype == cr.int32
    assert cr.one_hot([0], 2, dtype=cr.float64).dtype == cr.float64
    assert cr.range(3).dtype == cr.int32
    assert cr.range(0, 1, 0.5).dtype == cr.float32
    assert cr.range(3, dtype=cr.float64).dtype == cr.float64
    assert cr.fill([2], 1.5).dtype == cr.float32
    assert cr.fill([2], 7).dtype == cr.int32
    assert cr.zeros([2, 3]).dtype == cr.float32
    assert cr.ones(3, dtype=cr.int64).dtype == cr.int64
    assert cr.shape(f, out_type=cr.int64).dtype == cr.int64
    assert cr.pad(f, [[1, 1]], constant_values=2).dtype == cr.float64


# -- shape errors: named op, user's line, shapes ----------------------------------------------------
def _error(fn):
    with pytest.raises(ShapeError) as info:
        fn()
    message = str(info.value)
    assert "test_array_ops.py" in message, message
    return message


def test_concat_of_mismatched_dims_names_op_and_shapes():
    a = cr.placeholder(cr.float32, shape=[2, 3])
    b = cr.placeholder(cr.float32, shape=[2, 4])
    message = _error(lambda: cr.concat([a, b], 0))
    assert message.startswith("Concat 'Concat'")
    assert "(2, 3), (2, 4)" in message
    assert "rank" in _error(lambda: cr.concat([a, cr.placeholder(cr.float32, shape=[2])], 0))
    assert "scalars" in _error(lambda: cr.concat([cr.constant(1.0), cr.constant(2.0)], 0))


def test_reshape_of_incompatible_sizes():
    x = cr.placeholder(cr.float32, shape=[2, 3])
    message = _error(lambda: cr.reshape(x, [4, 2]))
    assert message.startswith("Reshape 'Reshape'")
    assert "(2, 3) (6 elements)" in message and "(4, 2) (8 elements)" in message
    assert "(4, -1)" in _error(lambda: cr.reshape(x, [4, -1]))
    assert "more than one -1" in _error(lambda: cr.reshape(x, [-1, -1]))
    partial = cr.placeholder(cr.float32, shape=[None, 4])
    assert "multiple of 4" in _error(lambda: cr.reshape(partial, [3, 5]))


def test_transpose_with_a_bad_perm():
    x = cr.placeholder(cr.float32, shape=[2, 3, 4])
    message = _error(lambda: cr.transpose(x, [0, 1]))
    assert message.startswith("Transpose 'Transpose'") and "(2, 3, 4)" in message
    assert "not a permutation" in _error(lambda: cr.transpose(x, [0, 0, 1]))


def test_stack_of_different_shapes():
    message = _error(
        lambda: cr.stack(
            [cr.placeholder(cr.float32, shape=[2, 3]), cr.placeholder(cr.float32, shape=[3, 2])]
        )
    )
    assert message.startswith("Stack 'Stack'") and "(2, 3), (3, 2)" in message


def test_split_that_does_not_divide():
    x = cr.placeholder(cr.float32, shape=[2, 5])
    message = _error(lambda: cr.split(x, 2, axis=1))
    assert message.startswith("Split 'split'")
    assert "cannot split size 5 into 2 equal parts (axis 1 of shape (2, 5))" in message
    assert "add up to 4" in _error(lambda: cr.split(x, [1, 3], axis=1))
    assert "exceed" in _error(lambda: cr.split(x, [4, -1, 3], axis=1))


def test_other_construction_errors():
    x = cr.placeholder(cr.float32, shape=[2, 3])
    assert "out of range for rank 2" in _error(lambda: cr.expand_dims(x, 3))
    assert "size is 3, not 1" in _error(lambda: cr.squeeze(x, [1]))
    assert "expected 3 entries along axis 0 of shape (2, 3), got 2" in _error(
        lambda: cr.unstack(x, num=3)
    )
    assert "cannot infer num" in _error(lambda: cr.unstack(cr.placeholder(cr.float32, [None])))
    assert "out of range for rank 2" in _error(lambda: cr.gather(x, [0], axis=2))
    assert "(2, 3) (rank 2)" in _error(lambda: cr.tile(x, [2]))
    assert "1 rows for a tensor of shape (2, 3)" in _error(lambda: cr.pad(x, [[1, 1]]))
    assert "smaller than" in _error(lambda: cr.pad(x, [[0, 0], [3, 0]], mode="REFLECT"))
    assert "at most" in _error(lambda: cr.pad(x, [[0, 0], [4, 0]], mode="SYMMETRIC"))
    assert "cannot broadcast (2, 3) to (4, 3)" in _error(lambda: cr.broadcast_to(x, [4, 3]))
    assert "out of bounds for axis 1" in _error(lambda: x[:, 3])
    assert "too many indices" in _error(lambda: x[0, 0, 0])
    assert "out of bounds" in _error(lambda: cr.slice(x, [1, 1], [2, 1]))
    assert "axis 2 must be -1 or in [0, 1]" in _error(lambda: cr.one_hot([1], 3, axis=2))


def test_argument_errors():
    x = cr.placeholder(cr.float32, shape=[2, 3])
    with pytest.raises(InvalidArgumentError, match="gather"):
        x[[0, 1]]
    with pytest.raises(InvalidArgumentError, match="single ellipsis"):
        x[..., ...]
    with pytest.raises(InvalidArgumentError, match="step cannot be zero"):
        x[::0]
    with pytest.raises(InvalidArgumentError, match="mode"):
        cr.pad(x, [[0, 0], [0, 0]], mode="EDGE")
    with pytest.raises(DTypeError, match="integers"):
        cr.gather(x, cr.constant([0.5]))
    with pytest.raises(DTypeError):
        cr.concat([x, cr.placeholder(cr.float64, shape=[2, 3])], 0)
    with pytest.raises(InvalidArgumentError, match="batch_dims"):
        cr.gather(x, [0], batch_dims=1)
    with pytest.raises(DTypeError, match="tile multiples must be integers"):
        cr.tile(x, cr.constant([1.0, 2.0]))
    assert "Unstack 'unstack'" in _error(lambda: cr.unstack(x, axis=2))
    assert cr.unstack(cr.zeros([0, 2])) == []
    assert cr.gather(x, [1, 0], validate_indices=True, axis=1).shape == (2, 2)


# -- run-time values ---------------------------------------------------------------------------------
def test_shape_size_rank_values():
    x = cr.placeholder(cr.float32, shape=[None, 3])
    value = np.zeros((4, 3), np.float32)
    shape_v, size_v, rank_v = run([cr.shape(x), cr.size(x), cr.rank(x)], {x: value})
    np.testing.assert_array_equal(shape_v, [4, 3])
    assert shape_v.dtype == np.int32
    assert size_v == 12 and rank_v == 2


def test_one_hot_values():
    np.testing.assert_array_equal(
        run(cr.one_hot([0, 2, -1, 3], 3)),
        [[1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]],
    )
    got = run(cr.one_hot([[1, 0]], 2, on_value=5.0, off_value=-1.0, axis=0))
    np.testing.assert_array_equal(got, [[[-1, 5]], [[5, -1]]])
    assert got.dtype == np.float32
    labels = cr.placeholder(cr.int64, shape=[None])
    np.testing.assert_array_equal(
        run(cr.one_hot(labels, 4, dtype=cr.int32), {labels: [3, 1]}), [[0, 0, 0, 1], [0, 1, 0, 0]]
    )


def test_range_values():
    np.testing.assert_array_equal(run(cr.range(5)), [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(run(cr.range(3, 18, 3)), [3, 6, 9, 12, 15])
    np.testing.assert_array_equal(run(cr.range(5, 1, -2)), [5, 3])
    np.testing.assert_allclose(run(cr.range(0.0, 1.0, 0.25)), [0, 0.25, 0.5, 0.75])
    np.testing.assert_array_equal(run(cr.range(2, dtype=cr.float64)), np.array([0.0, 1.0]))
    n = cr.placeholder(cr.int32, shape=[])
    np.testing.assert_array_equal(run(cr.range(n), {n: 3}), [0, 1, 2])
    np.testing.assert_array_equal(run(cr.range(1, n, 2), {n: 6}), [1, 3, 5])
    with pytest.raises(InvalidArgumentError, match="delta must not be 0"):
        cr.range(1, 5, 0)
    with pytest.raises(InvalidArgumentError, match="wrong order"):
        run(cr.range(n, 0), {n: 2})


def test_creation_values():
    np.testing.assert_array_equal(run(cr.zeros([2, 3])), np.zeros((2, 3)))
    np.testing.assert_array_equal(run(cr.ones(2, dtype=cr.int32)), [1, 1])
    np.testing.assert_array_equal(run(cr.fill([2, 2], 9)), [[9, 9], [9, 9]])
    x = cr.placeholder(cr.float32, shape=[None, 2])
    value = np.ones((3, 2), np.float32)
    zeros_v, ones_v, filled, like = run(
        [
            cr.zeros(cr.shape(x)),
            cr.ones([cr.shape(x)[0], 4]),
            cr.fill(cr.shape(x), 2.5),
            cr.zeros_like(x),
        ],
        {x: value},
    )
    assert zeros_v.shape == (3, 2) and zeros_v.dtype == np.float32
    assert ones_v.shape == (3, 4) and np.all(ones_v == 1)
    np.testing.assert_array_equal(filled, np.full((3, 2), 2.5, np.float32))
    np.testing.assert_array_equal(like, np.zeros((3, 2)))


def test_forward_values_of_joins_and_splits():
    a = np.arange(6.0).reshape(2, 3)
    x = cr.constant(a)
    pieces = run(cr.split(x, [1, -1], axis=1))
    np.testing.assert_array_equal(pieces[0], a[:, :1])
    np.testing.assert_array_equal(pieces[1], a[:, 1:])
    rows = run(cr.unstack(x))
    np.testing.assert_array_equal(rows[1], a[1])
    np.testing.assert_array_equal(run(cr.stack(cr.unstack(x, axis=1), axis=1)), a)
    np.testing.assert_array_equal(run(cr.concat([x, x], -1)), np.concatenate([a, a], -1))
    np.testing.assert_array_equal(run(cr.gather(x, [[2, 0]], axis=1)), a[:, [[2, 0]]])
    np.testing.assert_array_equal(run(cr.reshape(x, cr.shape(cr.transpose(x)))), a.reshape(3, 2))
    np.testing.assert_array_equal(run(cr.concat([x], 0)), a)
    assert run(cr.split(x, 1))[0].shape == (2, 3)


def test_fetched_views_do_not_alias_constants():
    x = cr.constant(np.arange(4.0))
    first = run(x[1:])
    first[:] = -1.0
    np.testing.assert_array_equal(run(x[1:]), [1.0, 2.0, 3.0])


def test_run_time_errors_name_the_op():
    x = cr.placeholder(cr.float32, shape=[None, 2])
    pieces = cr.split(x, 2, axis=0)
    with pytest.raises(
        ShapeError, match=r"Split 'split'.*size 3 into 2 equal parts \(axis 0 of shape \(3, 2\)\)"
    ):
        run(pieces[0], {x: np.zeros((3, 2))})
    rows = cr.unstack(x, num=2)
    with pytest.raises(ShapeError, match=r"Unstack .*expected 2 entries"):
        run(rows[0], {x: np.zeros((3, 2))})
    with pytest.raises(InvalidArgumentError, match=r"Gather .*index 5 is out of range \[0, 2\)"):
        run(cr.gather(x, [5], axis=1), {x: np.zeros((1, 2))})
    y = cr.placeholder(cr.float32, shape=[None, None])
    with pytest.raises(ShapeError, match="smaller than"):
        run(cr.pad(y, [[0, 0], [2, 2]], mode="REFLECT"), {y: np.zeros((1, 2))})


def test_public_names():
    for name in [
        "transpose",
        "expand_dims",
        "squeeze",
        "concat",
        "stack",
        "unstack",
        "split",
        "gather",
        "one_hot",
        "tile",
        "pad",
        "broadcast_to",
        "range",
        "slice",
        "shape",
        "size",
        "rank",
        "zeros",
        "ones",
        "fill",
        "zeros_like",
        "ones_like",
        "reshape",
    ]:
        assert callable(getattr(cr, name)), name
    assert "range" not in cr.__all__ and "slice" not in cr.__all__
    assert "transpose" in cr.__all__ and "unstack" in cr.__all__
    x = cr.placeholder(cr.float32, shape=[1, 3, 1])
    assert cr.squeeze(x, squeeze_dims=[0]).shape == (3, 1)
    assert cr.expand_dims(x, dim=0).shape == (1, 1, 3, 1)


# -- gradients when shapes are only known at run time ----------------------------------------------
def _gradients_with(shape, fn, value, w):
    """First and second derivatives of sum(fn(x) * w) with x a placeholder of ``shape``."""
    graph = cr.Graph()
    with graph.as_default():
        x = cr.placeholder(cr.float64, shape=shape)
        y = fn(x)
        (g,) = cr.gradients(cr.reduce_sum(y * w), [x])
        (h,) = cr.gradients(cr.reduce_sum(cr.square(g)), [x])
        with cr.Session() as sess:
            values = sess.run([g] if h is None else [g, h], {x: value})
    return g, values


RUNTIME_CASES = [
    ("reshape", lambda x: cr.square(cr.reshape(x, [-1])), (2, 3)),
    ("reshape_node", lambda x: cr.square(cr.reshape(x, cr.shape(cr.transpose(x)))), (2, 3)),
    ("transpose", lambda x: cr.square(cr.transpose(x)), (2, 3)),
    ("expand_squeeze", lambda x: cr.square(cr.squeeze(cr.expand_dims(x, 0))), (2, 3)),
    ("concat", lambda x: cr.square(cr.concat([x, x[:, :1] * x[:, 1:2]], 1)), (2, 3)),
    ("concat_axis0", lambda x: cr.square(cr.concat([x, 2.0 * x], 0)), (2, 3)),
    ("stack", lambda x: cr.square(cr.stack([x, x * x], axis=-1)), (2, 3)),
    ("unstack", lambda x: cr.add_n([cr.square(p) for p in cr.unstack(x, num=2)]), (2, 3)),
    ("split", lambda x: cr.concat([cr.square(p) for p in cr.split(x, 3, axis=1)], 0), (2, 3)),
    ("split_sizes", lambda x: cr.square(cr.split(x, [2, -1], axis=1)[1]), (2, 3)),
    ("gather", lambda x: cr.square(cr.gather(x, [2, 2, 0], axis=1)), (2, 3)),
    ("tile", lambda x: cr.square(cr.tile(x, [2, 2])), (2, 3)),
    ("pad", lambda x: cr.square(cr.pad(x, [[1, 0], [0, 2]])), (2, 3)),
    ("mirror_pad", lambda x: cr.square(cr.pad(x, [[1, 1], [2, 2]], "REFLECT")), (2, 3)),
    ("broadcast_to", lambda x: cr.square(cr.broadcast_to(x[:1], [4, 3])), (2, 3)),
    ("slice", lambda x: cr.square(x[::-1, None, 1:]), (2, 3)),
    ("tf_slice", lambda x: cr.square(cr.slice(x, [0, 1], [-1, 2])), (2, 3)),
    ("add_broadcast", lambda x: cr.square(x + x[0]), (2, 3)),
]


@pytest.mark.parametrize(("label", "fn", "shape"), RUNTIME_CASES, ids=[c[0] for c in RUNTIME_CASES])
@pytest.mark.parametrize("static", [None, [None, 3], [None, None]], ids=["rank?", "(?,3)", "(?,?)"])
def test_gradient_when_shape_is_known_only_at_run_time(rng, label, fn, shape, static):
    value = randn(rng, *shape)
    with cr.Graph().as_default():
        out_shape = run(fn(cr.constant(value))).shape
    w = randn(rng, *out_shape)
    _, expected = _gradients_with(list(shape), fn, value, w)
    g, got = _gradients_with(static, fn, value, w)
    allowed = [(None,) * len(shape)] + ([None] if static is None else [tuple(static)])
    assert g.shape in allowed
    assert got[0].shape == shape
    for e, v in zip(expected, got, strict=True):
        np.testing.assert_allclose(v, e, rtol=1e-12, atol=1e-12)


def test_merged_slice_gradients_equal_their_sum(rng):
    from chainrule.ops import slice_ops

    x = cr.placeholder(cr.float64, shape=[None, 3])
    pieces = cr.unstack(x, axis=1) + cr.split(x, [2, -1], axis=1) + [x[:, ::2]]
    grad_feeds = {}
    contributions = []
    for piece in pieces:
        g = cr.placeholder(cr.float64, shape=piece.shape)
        grad_feeds[g] = None
        op = piece.op
        slicer = op.pieces[piece.value_index] if hasattr(op, "pieces") else op.slicer
        contributions.append(slice_ops.StridedSliceGrad(g, x, slicer))
    other = cr.placeholder(cr.float64, shape=[None, 3])
    contributions.append(other)
    merged = slice_ops.merge_slice_gradients(contributions)
    assert [m.op.op_type for m in merged] == ["ScatterSlices", "Placeholder"]

    value = randn(rng, 2, 3)
    feed = {x: value, other: randn(rng, 2, 3)}
    for g, piece in zip(grad_feeds, pieces, strict=True):
        feed[g] = randn(rng, *run(piece, {x: value}).shape)
    w = cr.constant(randn(rng, 2, 3))
    dense, scattered = cr.add_n(contributions), cr.add_n(merged)
    np.testing.assert_allclose(run(scattered, feed), run(dense, feed), rtol=1e-12)
    # the scatter is linear in each piece's gradient: its own gradient is that piece of w
    by_piece = cr.gradients(cr.reduce_sum(scattered * w), list(grad_feeds))
    expected = cr.gradients(cr.reduce_sum(dense * w), list(grad_feeds))
    for got, want in zip(run(by_piece, feed), run(expected, feed), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)


# -- arguments known only at run time ---------------------------------------------------------------
def _run_time(x, k):
    """``k`` as an int32 scalar the graph cannot tell before running (``rows(x) - rows(x) + k``)."""
    rows = cr.shape(x)[0]
    return rows - rows + k


def test_tile_gradient_with_run_time_multiples(rng):
    check_op(
        lambda x: cr.tile(x, [_run_time(x, 2), 3]),
        lambda x: x.repeat(2, 3),
        [randn(rng, 3, 4)],
        second_order=True,
    )


@pytest.mark.parametrize("mode", ["CONSTANT", "REFLECT", "SYMMETRIC"])
def test_pad_gradient_with_run_time_paddings(rng, mode):
    paddings = [[1, 2], [2, 1]]

    def torch_pad(x):
        if mode == "CONSTANT":
            return torch.nn.functional.pad(x, [2, 1, 1, 2], value=0.5)
        return torch_mirror_pad(x, paddings, mode.lower())

    check_op(
        lambda x: cr.square(
            cr.pad(x, [[_run_time(x, 1), 2], [2, _run_time(x, 1)]], mode=mode, constant_values=0.5)
        ),
        lambda x: torch.square(torch_pad(x)),
        [randn(rng, 3, 4)],
        second_order=True,
    )


def test_split_gradient_with_run_time_sizes(rng):
    def pieces(x):
        first, rest = cr.split(x, cr.stack([_run_time(x, 1), -1]), axis=1)
        return cr.concat([cr.square(first), rest * 2.0], 1)

    def torch_pieces(x):
        first, rest = torch.split(x, [1, 3], dim=1)
        return torch.cat([first**2, rest * 2.0], 1)

    check_op(pieces, torch_pieces, [randn(rng, 3, 4)], second_order=True)


def test_run_time_sizes_are_checked():
    x = cr.placeholder(cr.float32, shape=[None, 3])
    k = cr.placeholder(cr.int32, shape=[])
    value = np.ones((2, 3), np.float32)
    for node, what in [
        (cr.tile(x, [k, 1]), "Tile 'Tile.*multiples must be >= 0"),
        (cr.pad(x, [[k, 0], [0, 0]]), "Pad 'Pad.*paddings must be >= 0"),
        (cr.one_hot([1], k), "OneHot 'OneHot.*depth must be >= 0"),
        (cr.split(x, cr.stack([k, 1]), axis=1)[0], "SplitV 'split.*sizes must be >= -1"),
    ]:
        with pytest.raises(InvalidArgumentError, match=what) as err:
            run(node, {x: value, k: -2})
        assert "test_array_ops.py" in str(err.value)
    with pytest.raises(ShapeError, match="paddings must be >= 0"):
        cr.pad(x, [[k, -1], [0, 0]])
    with pytest.raises(InvalidArgumentError, match="number of pieces"):
        cr.split(x, cr.placeholder(cr.int32, shape=[None]), axis=1)


def test_static_shapes_from_shape_tensors():
    x = cr.placeholder(cr.float32, shape=[None, 6])
    batch = cr.shape(x)[0]
    assert cr.reshape(x, [batch, 2, 3]).shape == (None, 2, 3)
    assert cr.concat([x, cr.ones([batch, 1])], 1).shape == (None, 7)
    assert cr.tile(x, [batch, 2]).shape == (None, 12)
    assert cr.pad(x, [[0, batch], [1, 2]]).shape == (None, 9)
    assert cr.one_hot([0, 1], cr.shape(x)[1]).shape == (2, 6)
    assert [p.shape for p in cr.split(x, cr.stack([2, batch]), axis=1)] == [(None, 2), (None, None)]
