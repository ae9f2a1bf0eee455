"""conv2d, its gradient ops, pooling, batch normalization and embedding_lookup: values, first
and second derivatives against PyTorch (with TF1's padding made explicit) and finite
differences; TF1's output sizes; bad input refused when the graph is built."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import chainrule as cr
from chainrule.errors import DTypeError, InvalidArgumentError, ShapeError
from chainrule.ops.conv_ops import span
from oracle import RANK_KNOWN, check_op


def tf_same(size, k, s, d=1):
    """TF1's SAME padding (before, after) for one axis, written out from its documentation."""
    out = math.ceil(size / s)
    needed = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return needed // 2, needed - needed // 2


def torch_pads(padding, hw, khw, strides, dilations):
    """F.pad's (left, right, top, bottom) for TF1's padding of an NHWC input."""
    if padding == "VALID":
        return (0, 0, 0, 0)
    if padding == "SAME":
        top, bottom = tf_same(hw[0], khw[0], strides[0], dilations[0])
        left, right = tf_same(hw[1], khw[1], strides[1], dilations[1])
        return (left, right, top, bottom)
    (top, bottom), (left, right) = padding[1], padding[2]
    return (left, right, top, bottom)


def torch_conv(x, f, strides, padding, dilations=(1, 1)):
    """TF1's NHWC conv2d in PyTorch: NCHW permutes, the padding made explicit."""
    pads = torch_pads(padding, x.shape[1:3], f.shape[:2], strides, dilations)
    xt = F.pad(x.permute(0, 3, 1, 2), pads)
    y = F.conv2d(xt, f.permute(3, 2, 0, 1), stride=strides, dilation=dilations)
    return y.permute(0, 2, 3, 1)


# -- output sizes -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("size", "k", "s", "d", "padding", "want"),
    [
        (7, 3, 2, 1, "SAME", (4, 1, 1)),
        (6, 3, 2, 1, "SAME", (3, 0, 1)),  # uneven: the odd row goes after
        (5, 2, 1, 1, "SAME", (5, 0, 1)),
        (8, 5, 3, 1, "SAME", (3, 1, 2)),
        (5, 3, 1, 2, "SAME", (5, 2, 2)),
        (4, 1, 3, 1, "SAME", (2, 0, 0)),
        (7, 3, 2, 1, "VALID", (3, 0, 0)),
        (8, 3, 3, 1, "VALID", (2, 0, 0)),
        (7, 3, 1, 2, "VALID", (3, 0, 0)),
        (5, 3, 2, 1, (1, 2), (3, 1, 2)),
    ],
)
def test_output_sizes_are_tf1s(size, k, s, d, padding, want):
    assert tuple(span(size, k, s, d, padding)) == want
    if padding == "SAME":
        assert want[1:] == tf_same(size, k, s, d)


# -- conv2d -------------------------------------------------------------------------------------
CONV_CASES = [
    # input NHWC, filter HWIO, strides, dilations, padding
    ((2, 5, 6, 3), (3, 3, 3, 2), (1, 1), (1, 1), "SAME"),
    ((1, 7, 6, 2), (3, 2, 2, 3), (2, 2), (1, 1), "SAME"),
    ((2, 6, 7, 1), (3, 3, 1, 2), (2, 3), (1, 1), "SAME"),
    ((1, 8, 8, 2), (5, 5, 2, 2), (3, 3), (1, 1), "SAME"),
    ((2, 7, 5, 2), (3, 3, 2, 2), (1, 1), (2, 2), "SAME"),
    ((2, 7, 6, 2), (3, 3, 2, 3), (2, 1), (1, 1), "VALID"),
    ((1, 9, 8, 1), (2, 3, 1, 2), (1, 2), (2, 1), "VALID"),
    ((1, 5, 5, 3), (1, 1, 3, 4), (2, 2), (1, 1), "VALID"),
    ((2, 5, 4, 2), (3, 2, 2, 2), (2, 1), (1, 1), [[0, 0], [1, 2], [0, 1], [0, 0]]),
]


def _case_id(case):
    x, f, s, d, p = case
    return f"x{x}-f{f}-s{s}-d{d}-{p if isinstance(p, str) else 'explicit'}"


@pytest.mark.parametrize("case", CONV_CASES, ids=_case_id)
def test_conv2d_against_pytorch_and_finite_differences(case):
    x_shape, f_shape, strides, dilations, padding = case
    rng = np.random.default_rng(1)
    x, f = rng.standard_normal(x_shape), rng.standard_normal(f_shape)
    check_op(
        lambda a, b: cr.nn.conv2d(a, b, [1, *strides, 1], padding, dilations=[1, *dilations, 1]),
        lambda a, b: torch_conv(a, b, strides, padding, dilations),
        [x, f],
        second_order=True,
    )


@pytest.mark.parametrize("padding", ["SAME", "VALID"])
def test_conv2d_nchw_matches_pytorch(padding):
    rng = np.random.default_rng(2)
    x, f = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((3, 3, 3, 2))

    def torch_fn(a, b):
        return torch_conv(a.permute(0, 2, 3, 1), b, (2, 1), padding).permute(0, 3, 1, 2)

    check_op(
        lambda a, b: cr.nn.conv2d(a, b, [1, 1, 2, 1], padding, data_format="NCHW"),
        torch_fn,
        [x, f],
        second_order=True,
        unknown_shapes=RANK_KNOWN,
    )


@pytest.mark.parametrize("batch", [0, 1])
def test_conv2d_on_batches_of_zero_and_one(batch):
    rng = np.random.default_rng(3)
    x, f = rng.standard_normal((batch, 5, 5, 2)), rng.standard_normal((3, 3, 2, 4))
    with cr.Graph().as_default():
        xs = cr.placeholder(cr.float64, (None, 5, 5, 2))
        y = cr.nn.conv2d(xs, f, [1, 2, 2, 1], "SAME")
        (gx,) = cr.gradients(cr.reduce_sum(y), [xs])
        with cr.Session() as s:
            value, grad = s.run([y, gx], {xs: x})
    assert value.shape == (batch, 3, 3, 4)
    assert grad.shape == x.shape
    want = torch_conv(torch.tensor(x), torch.tensor(f), (2, 2), "SAME").numpy()
    np.testing.assert_allclose(value, want, rtol=1e-12, atol=1e-12)


def _torch_backprop_input(x_shape, strides, padding, dilations=(1, 1)):
    def fn(f, dy):
        x = torch.zeros(x_shape, dtype=torch.float64, requires_grad=True)
        y = torch_conv(x, f, strides, padding, dilations)
        return torch.autograd.grad(y, x, dy, create_graph=True)[0]

    return fn


def _torch_backprop_filter(f_shape, strides, padding, dilations=(1, 1)):
    def fn(x, dy):
        f = torch.zeros(f_shape, dtype=torch.float64, requires_grad=True)
        y = torch_conv(x, f, strides, padding, dilations)
        return torch.autograd.grad(y, f, dy, create_graph=True)[0]

    return fn


@pytest.mark.parametrize("case", CONV_CASES[:7], ids=_case_id)
def test_conv2d_backprop_input_is_a_public_twice_differentiable_op(case):
    x_shape, f_shape, strides, dilations, padding = case
    rng = np.random.default_rng(4)
    out = [span(x_shape[1 + a], f_shape[a], strides[a], dilations[a], padding).out for a in (0, 1)]
    f, dy = rng.standard_normal(f_shape), rng.standard_normal((x_shape[0], *out, f_shape[3]))
    check_op(
        lambda b, g: cr.nn.conv2d_backprop_input(
            list(x_shape), b, g, [1, *strides, 1], padding, dilations=[1, *dilations, 1]
        ),
        _torch_backprop_input(x_shape, strides, padding, dilations),
        [f, dy],
        second_order=True,
    )


@pytest.mark.parametrize("case", CONV_CASES[:7], ids=_case_id)
def test_conv2d_backprop_filter_is_a_public_twice_differentiable_op(case):
    x_shape, f_shape, strides, dilations, padding = case
    rng = np.random.default_rng(5)
    out = [span(x_shape[1 + a], f_shape[a], strides[a], dilations[a], padding).out for a in (0, 1)]
    x, dy = rng.standard_normal(x_shape), rng.standard_normal((x_shape[0], *out, f_shape[3]))
    check_op(
        lambda a, g: cr.nn.conv2d_backprop_filter(
            a, list(f_shape), g, [1, *strides, 1], padding, dilations=[1, *dilations, 1]
        ),
        _torch_backprop_filter(f_shape, strides, padding, dilations),
        [x, dy],
        second_order=True,
    )


def test_conv2d_float32_matches_float64():
    rng = np.random.default_rng(6)
    x, f = rng.standard_normal((2, 9, 9, 3)), rng.standard_normal((3, 3, 3, 4))
    with cr.Graph().as_default():
        y32 = cr.nn.conv2d(x.astype(np.float32), f.astype(np.float32), [1, 2, 2, 1], "SAME")
        y64 = cr.nn.conv2d(x, f, [1, 2, 2, 1], "SAME")
        with cr.Session() as s:
            a, b = s.run([y32, y64])
    assert a.dtype == np.float32
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_conv1d_is_conv2d_over_one_row():
    rng = np.random.default_rng(7)
    x, f = rng.standard_normal((2, 9, 3)), rng.standard_normal((3, 3, 2))

    def torch_fn(a, b):
        left, right = tf_same(9, 3, 2)
        return F.conv1d(F.pad(a.permute(0, 2, 1), (left, right)), b.permute(2, 1, 0), stride=2)

    check_op(
        lambda a, b: cr.nn.conv1d(a, b, 2, "SAME"),
        lambda a, b: torch_fn(a, b).permute(0, 2, 1),
        [x, f],
        second_order=True,
        unknown_shapes=RANK_KNOWN,
    )


# -- pooling ------------------------------------------------------------------------------------
POOL_CASES = [
    # input NHWC, window, strides, padding
    ((2, 6, 6, 3), (2, 2), (2, 2), "VALID"),  # tiles exactly
    ((2, 6, 6, 3), (2, 2), (2, 2), "SAME"),
    ((1, 7, 5, 2), (3, 3), (2, 2), "SAME"),
    ((2, 7, 6, 1), (2, 3), (2, 1), "SAME"),  # uneven SAME
    ((1, 8, 7, 2), (3, 2), (3, 2), "SAME"),
    ((2, 7, 7, 2), (3, 3), (2, 2), "VALID"),
    ((1, 5, 6, 2), (1, 1), (2, 3), "VALID"),
]


def _pool_id(case):
    return f"x{case[0]}-k{case[1]}-s{case[2]}-{case[3]}"


def _torch_pool(kind, window, strides, padding):
    """TF1's NHWC pooling in PyTorch: padding made explicit (-inf for max; for the mean, a sum
    divided by how many input entries each window holds)."""

    def fn(x):
        pads = torch_pads(padding, x.shape[1:3], window, strides, (1, 1))
        xt = x.permute(0, 3, 1, 2)
        if kind == "max":
            y = F.max_pool2d(F.pad(xt, pads, value=-math.inf), window, strides)
        else:
            ones = torch.ones((1, 1, *x.shape[1:3]), dtype=x.dtype)
            counts = F.avg_pool2d(F.pad(ones, pads), window, strides, divisor_override=1)
            y = F.avg_pool2d(F.pad(xt, pads), window, strides, divisor_override=1) / counts
        return y.permute(0, 2, 3, 1)

    return fn


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("case", POOL_CASES, ids=_pool_id)
def test_pooling_against_pytorch_and_finite_differences(kind, case):
    x_shape, window, strides, padding = case
    x = np.random.default_rng(8).standard_normal(x_shape)
    pool = cr.nn.max_pool if kind == "max" else cr.nn.avg_pool
    check_op(
        lambda a: pool(a, [1, *window, 1], [1, *strides, 1], padding),
        _torch_pool(kind, window, strides, padding),
        [x],
        second_order=True,
    )


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_nchw_is_nhwc_transposed(kind):
    x = np.random.default_rng(9).standard_normal((2, 3, 7, 6))
    pool = cr.nn.max_pool if kind == "max" else cr.nn.avg_pool
    torch_fn = _torch_pool(kind, (3, 2), (2, 2), "SAME")
    check_op(
        lambda a: pool(a, [1, 1, 3, 2], [1, 1, 2, 2], "SAME", data_format="NCHW"),
        lambda a: torch_fn(a.permute(0, 2, 3, 1)).permute(0, 3, 1, 2),
        [x],
        second_order=True,
        unknown_shapes=RANK_KNOWN,
    )


def test_max_pool_ties_send_the_gradient_to_the_first_largest():
    """TF1's kernel scans each window row by row and keeps the first maximum it meets."""
    x = np.array([[1.0, 3.0, 3.0], [3.0, 2.0, 0.0], [3.0, 3.0, 3.0]]).reshape(1, 3, 3, 1)
    with cr.Graph().as_default():
        xs = cr.constant(x)
        y = cr.nn.max_pool(xs, [1, 2, 2, 1], [1, 1, 1, 1], "VALID")
        (grad,) = cr.gradients(cr.reduce_sum(y), [xs])
        with cr.Session() as s:
            value, got = s.run([y, grad])
    np.testing.assert_array_equal(value.reshape(2, 2), [[3.0, 3.0], [3.0, 3.0]])
    # windows: top-left -> (0,1); top-right -> (0,1); bottom-left -> (1,0); bottom-right -> (2,1)
    want = np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    np.testing.assert_array_equal(got.reshape(3, 3), want)


# -- batch normalization --------------------------------------------------------------------------
def test_batch_normalization_matches_pytorch():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((4, 3, 3, 2))
    mean, var = rng.standard_normal(2), rng.uniform(0.5, 2.0, 2)
    offset, scale = rng.standard_normal(2), rng.standard_normal(2)

    def torch_fn(a, m, v, o, s):
        return (a - m) / torch.sqrt(v + 1e-3) * s + o

    check_op(
        lambda a, m, v, o, s: cr.nn.batch_normalization(a, m, v, o, s, 1e-3),
        torch_fn,
        [x, mean, var, offset, scale],
        second_order=True,
    )


@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
@pytest.mark.parametrize("output", [0, 1, 2])
def test_fused_batch_norm_training_matches_pytorch(layout, output):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 4, 5, 2) if layout == "NHWC" else (3, 2, 4, 5))
    scale, offset = rng.standard_normal(2), rng.standard_normal(2)
    axes = (0, 1, 2) if layout == "NHWC" else (0, 2, 3)

    def torch_fn(a, s, o):
        nchw = a.permute(0, 3, 1, 2) if layout == "NHWC" else a
        if output == 1:
            return a.mean(dim=axes)
        if output == 2:
            return a.var(dim=axes, unbiased=True)
        y = F.batch_norm(nchw, None, None, s, o, training=True, eps=1e-3)
        return y.permute(0, 2, 3, 1) if layout == "NHWC" else y

    def cr_fn(a, s, o):
        return cr.nn.fused_batch_norm(a, s, o, epsilon=1e-3, data_format=layout)[output]

    check_op(cr_fn, torch_fn, [x, scale, offset], second_order=True, unknown_shapes=RANK_KNOWN)


def test_fused_batch_norm_inference_uses_the_given_statistics():
    rng = np.random.default_rng(12)
    x = rng.standard_normal((3, 4, 4, 2))
    scale, offset = rng.standard_normal(2), rng.standard_normal(2)
    mean, var = rng.standard_normal(2), rng.uniform(0.5, 2.0, 2)

    def torch_fn(a, s, o, m, v):
        return (a - m) / torch.sqrt(v + 1e-3) * s + o

    def cr_fn(a, s, o, m, v):
        return cr.nn.fused_batch_norm(a, s, o, m, v, epsilon=1e-3, is_training=False)[0]

    check_op(cr_fn, torch_fn, [x, scale, offset, mean, var], second_order=True)


# -- embedding_lookup -----------------------------------------------------------------------------
def test_embedding_lookup_adds_gradients_into_the_rows_looked_up():
    params = np.arange(12.0).reshape(4, 3)
    with cr.Graph().as_default():
        p = cr.constant(params)
        rows = cr.nn.embedding_lookup(p, [[1, 3], [1, 1]])
        (grad,) = cr.gradients(cr.reduce_sum(rows), [p])
        with cr.Session() as s:
            value, got = s.run([rows, grad])
    np.testing.assert_array_equal(value, params[[[1, 3], [1, 1]]])
    np.testing.assert_array_equal(got[:, 0], [0.0, 3.0, 0.0, 1.0])


def test_embedding_lookup_refuses_bad_ids():
    with cr.Graph().as_default():
        p = cr.constant(np.ones((4, 3)))
        with pytest.raises(DTypeError, match="integers"):
            cr.nn.embedding_lookup(p, cr.constant([0.5]))
        ids = cr.placeholder(cr.int32, [None])
        rows = cr.nn.embedding_lookup(p, ids)
        with cr.Session() as s, pytest.raises(InvalidArgumentError, match="out of range"):
            s.run(rows, {ids: [1, 4]})


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (
            lambda x: cr.nn.conv2d(x, np.ones((3, 3, 2, 4), np.float32), [1, 1, 1, 1], "SAME"),
            ShapeError,
            "expects 2 input channels",
        ),
        (
            lambda x: cr.nn.conv2d(x[0], np.ones((3, 3, 3, 4), np.float32), [1, 1, 1, 1], "SAME"),
            ShapeError,
            "must be 4-D",
        ),
        (
            lambda x: cr.nn.conv2d(x, np.ones((3, 3, 3, 4), np.float32), [1, 1, 1], "SAME"),
            InvalidArgumentError,
            "strides must have",
        ),
        (
            lambda x: cr.nn.conv2d(x, np.ones((3, 3, 3, 4), np.float32), [1, 0, 1, 1], "SAME"),
            InvalidArgumentError,
            "strides must be positive",
        ),
        (
            lambda x: cr.nn.conv2d(x, np.ones((3, 3, 3, 4), np.float32), [1, -2, 1, 1], "SAME"),
            InvalidArgumentError,
            "strides must be positive",
        ),
        (
            lambda x: cr.nn.conv2d(x, np.ones((3, 3, 3, 4), np.float32), [1, 1, 1, 1], "FULL"),
            InvalidArgumentError,
            "padding must be",
        ),
        (
            lambda x: cr.nn.max_pool(x, [1, 9, 2, 1], [1, 1, 1, 1], "VALID"),
            ShapeError,
            "window spans 9",
        ),
        (
            lambda x: cr.nn.avg_pool(x, [1, 2, 2], [1, 1, 1, 1], "VALID"),
            InvalidArgumentError,
            "ksize must have",
        ),
    ],
    ids=[
        "channels",
        "3-D input",
        "strides length",
        "zero stride",
        "negative stride",
        "padding string",
        "window too big",
        "ksize length",
    ],
)
def test_bad_input_is_refused_when_the_graph_is_built(build, error, message):
    with cr.Graph().as_default():
        x = cr.placeholder(cr.float32, (None, 8, 8, 3), name="images")
        with pytest.raises(error, match=message) as raised:
            build(x)
    text = str(raised.value)
    assert "test_conv_ops.py" in text, text
    assert any(t in text for t in ("Conv2D", "MaxPool", "AvgPool")), text


def test_a_wrong_sized_image_fails_at_run_time_naming_the_node():
    with cr.Graph().as_default():
        x = cr.placeholder(cr.float32, (None, None, None, None))
        y = cr.nn.max_pool(x, [1, 5, 5, 1], [1, 1, 1, 1], "VALID", name="pool")
        with cr.Session() as s, pytest.raises(ShapeError, match="window spans 5") as raised:
            s.run(y, {x: np.ones((1, 3, 3, 1))})
    assert "pool" in str(raised.value)


# -- transposed, depthwise and separable convolution -----------------------------------------------
@pytest.mark.parametrize(
    ("out_shape", "strides", "padding"),
    [
        ((2, 7, 6, 2), (2, 2), "SAME"),
        ((1, 9, 8, 2), (2, 3), "VALID"),
        ((1, 6, 6, 2), (1, 1), "SAME"),
    ],
)
def test_conv2d_transpose_is_the_input_gradient_of_conv2d(out_shape, strides, padding):
    rng = np.random.default_rng(13)
    f = rng.standard_normal((3, 3, 2, 4))  # (h, w, output channels, input channels)
    out = [span(out_shape[1 + a], 3, strides[a], 1, padding).out for a in (0, 1)]
    value = rng.standard_normal((out_shape[0], *out, 4))
    check_op(
        lambda v, b: cr.nn.conv2d_transpose(v, b, list(out_shape), [1, *strides, 1], padding),
        lambda v, b: _torch_backprop_input(out_shape, strides, padding)(b, v),
        [value, f],
        second_order=True,
    )


def _torch_depthwise(x, f, strides, padding, rate=(1, 1)):
    kh, kw, c, m = f.shape
    pads = torch_pads(padding, x.shape[1:3], (kh, kw), strides, rate)
    weight = f.permute(2, 3, 0, 1).reshape(c * m, 1, kh, kw)
    y = F.conv2d(
        F.pad(x.permute(0, 3, 1, 2), pads), weight, stride=strides, dilation=rate, groups=c
    )
    return y.permute(0, 2, 3, 1)


@pytest.mark.parametrize("rate", [1, 2])
def test_depthwise_conv2d_matches_grouped_convolution(rate):
    rng = np.random.default_rng(14)
    x, f = rng.standard_normal((2, 7, 6, 3)), rng.standard_normal((3, 2, 3, 2))
    strides = (1, 1) if rate == 2 else (2, 1)  # TF1 takes a rate only with stride 1
    check_op(
        lambda a, b: cr.nn.depthwise_conv2d(a, b, [1, *strides, 1], "SAME", rate=[rate, rate]),
        lambda a, b: _torch_depthwise(a, b, strides, "SAME", (rate, rate)),
        [x, f],
        second_order=True,
        unknown_shapes=(),
    )


def test_separable_conv2d_is_depthwise_then_pointwise():
    rng = np.random.default_rng(15)
    x = rng.standard_normal((2, 6, 5, 2))
    dw, pw = rng.standard_normal((3, 3, 2, 2)), rng.standard_normal((1, 1, 4, 3))

    def torch_fn(a, d, p):
        h = _torch_depthwise(a, d, (1, 1), "VALID")
        return torch_conv(h, p, (1, 1), "VALID")

    check_op(
        lambda a, d, p: cr.nn.separable_conv2d(a, d, p, [1, 1, 1, 1], "VALID"),
        torch_fn,
        [x, dw, pw],
        second_order=True,
        unknown_shapes=(),
    )


def test_max_pool_ties_in_windows_that_tile_the_input():
    x = np.array(
        [[2.0, 2.0, 0.0, 0.0], [2.0, 1.0, 0.0, 0.0], [1.0, 5.0, 3.0, 3.0], [5.0, 0.0, 3.0, 3.0]]
    ).reshape(1, 4, 4, 1)
    with cr.Graph().as_default():
        xs = cr.constant(x)
        y = cr.nn.max_pool(xs, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")
        (grad,) = cr.gradients(cr.reduce_sum(y * np.arange(1.0, 5.0).reshape(1, 2, 2, 1)), [xs])
        with cr.Session() as s:
            got = s.run(grad).reshape(4, 4)
    want = np.array(
        [[1.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 3.0, 4.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    )
    np.testing.assert_array_equal(got, want)


def test_fused_batch_norm_without_offset_on_an_unknown_shape():
    x = np.random.default_rng(16).standard_normal((3, 2, 2, 2)).astype(np.float32)
    with cr.Graph().as_default():
        xs = cr.placeholder(cr.float32)
        y, mean, variance = cr.nn.fused_batch_norm(xs, np.float32([2.0, 1.0]))
        with cr.Session() as s:
            got, got_mean, got_var = s.run([y, mean, variance], {xs: x})
    centered = x - x.mean(axis=(0, 1, 2))
    want = centered / np.sqrt(x.var(axis=(0, 1, 2)) + 1e-3) * [2.0, 1.0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got_var, x.var(axis=(0, 1, 2), ddof=1), rtol=1e-5)
    np.testing.assert_allclose(got_mean, x.mean(axis=(0, 1, 2)), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_a_batch_of_zero(kind):
    pool = cr.nn.max_pool if kind == "max" else cr.nn.avg_pool
    with cr.Graph().as_default():
        xs = cr.placeholder(cr.float32, (None, 5, 5, 2))
        y = pool(xs, [1, 3, 3, 1], [1, 2, 2, 1], "SAME")
        (grad,) = cr.gradients(cr.reduce_sum(y), [xs])
        with cr.Session() as s:
            value, got = s.run([y, grad], {xs: np.zeros((0, 5, 5, 2))})
    assert value.shape == (0, 3, 3, 2) and got.shape == (0, 5, 5, 2)


def test_max_pool_with_argmax_points_at_each_maximum():
    x = np.random.default_rng(17).standard_normal((2, 5, 4, 3))
    with cr.Graph().as_default():
        y, argmax = cr.nn.max_pool_with_argmax(
            x, [1, 2, 2, 1], [1, 2, 2, 1], "SAME", Targmax=cr.int32, include_batch_in_index=True
        )
        assert argmax.dtype == cr.int32
        with pytest.raises(DTypeError, match="Targmax"):
            cr.nn.max_pool_with_argmax(x, [1, 2, 2, 1], [1, 2, 2, 1], "SAME", Targmax=cr.float32)
        with cr.Session() as s:
            value, index = s.run([y, argmax])
    np.testing.assert_array_equal(x.reshape(-1)[index], value)


def test_local_response_normalization_against_pytorch():
    x = np.random.default_rng(18).standard_normal((2, 3, 3, 7))

    def torch_fn(a):
        squares = F.pad(a * a, (2, 2))
        sums = sum(squares[..., k : k + 7] for k in range(5))
        return a / (0.5 + 0.3 * sums) ** 0.75

    check_op(
        lambda a: cr.nn.local_response_normalization(a, 2, 0.5, 0.3, 0.75),
        torch_fn,
        [x],
        second_order=True,
        unknown_shapes=RANK_KNOWN,
    )
