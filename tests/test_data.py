"""chainrule.data: the seeds' point clouds, toy sets, digits, the IDX (MNIST) reader, batching."""

import gzip
import struct
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule import data
from chainrule.errors import ChainruleError, InvalidArgumentError, NotFoundError


def test_blob_clouds_are_the_seed_part_iv_points():
    X, labels = data.blob_clouds(seed=0)
    np.random.seed(0)
    red = np.random.randn(50, 2) - 2 * np.ones((50, 2))
    blue = np.random.randn(50, 2) + 2 * np.ones((50, 2))
    assert X.shape == (100, 2) and X.dtype == np.float64
    assert labels.shape == (100,) and labels.dtype == np.int64
    np.testing.assert_array_equal(X, np.concatenate((blue, red)))
    np.testing.assert_array_equal(labels, [0] * 50 + [1] * 50)
    np.testing.assert_array_equal(data.one_hot(labels), [[1, 0]] * 50 + [[0, 1]] * 50)


def test_blob_clouds_continue_a_shared_random_state_like_the_seed():
    rng = np.random.RandomState(0)
    data.blob_clouds(seed=rng)
    W = rng.randn(2, 2)
    np.random.seed(0)
    np.random.randn(50, 2), np.random.randn(50, 2)
    np.testing.assert_array_equal(W, np.random.randn(2, 2))


def test_xor_clouds_are_the_seed_part_v_points():
    X, labels = data.xor_clouds(seed=1)
    np.random.seed(1)
    red = np.concatenate(
        (0.2 * np.random.randn(25, 2), 0.2 * np.random.randn(25, 2) + np.array([1, 1]))
    )
    blue = np.concatenate(
        (
            0.2 * np.random.randn(25, 2) + np.array([0, 1]),
            0.2 * np.random.randn(25, 2) + np.array([1, 0]),
        )
    )
    np.testing.assert_allclose(X, np.concatenate((blue, red)))
    np.testing.assert_array_equal(labels, [0] * 50 + [1] * 50)


def test_xor_and_xor_clouds_give_the_same_corners_the_same_class():
    corners = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    _, cloud_labels = data.xor_clouds(n_per_cluster=1, seed=0)  # one point per corner, in order
    X, labels = data.xor(n=2000, seed=0)
    quadrant_labels = [
        np.bincount(labels[np.all(np.sign(X) == np.sign(corner - 0.5), axis=1)]).argmax()
        for corner in corners
    ]
    assert cloud_labels.tolist() == quadrant_labels == [0, 0, 1, 1]


def test_interval_task_is_seed_002_grid():
    X, y = data.interval_task()
    assert X.shape == (1, 51) and y.shape == (1, 51)
    np.testing.assert_allclose(X[0, [0, 25, 50]], [-1.0, 0.0, 1.0])
    assert y.sum() == 26  # |x| > 0.5: 13 points at each end
    assert y[0, 12] == 1 and y[0, 13] == 0 and y[0, 37] == 0 and y[0, 38] == 1
    assert data.interval_task(5)[0].shape == (1, 5)


@pytest.mark.parametrize(
    "make, size",
    [
        (lambda s: data.xor(n=120, seed=s), 120),
        (lambda s: data.two_spirals(n_per_class=60, seed=s), 120),
        (lambda s: data.circles(n=121, seed=s), 121),
        (lambda s: data.blob_clouds(n_per_class=7, seed=s), 14),
        (lambda s: data.xor_clouds(n_per_cluster=3, seed=s), 12),
    ],
)
def test_toy_sets_have_documented_shapes_and_are_seeded(make, size):
    X, labels = make(3)
    assert X.shape == (size, 2) and X.dtype == np.float64
    assert labels.shape == (size,) and labels.dtype == np.int64
    assert set(np.unique(labels)) == {0, 1}
    X_again, labels_again = make(3)
    np.testing.assert_array_equal(X, X_again)
    np.testing.assert_array_equal(labels, labels_again)
    assert not np.array_equal(X, make(4)[0])


def test_toy_set_labels_follow_their_geometry():
    X, labels = data.xor(n=500, seed=0)
    np.testing.assert_array_equal(labels, (X[:, 0] * X[:, 1] > 0).astype(int))
    X, labels = data.circles(n=400, factor=0.3, noise=0.0, seed=0)
    radius = np.linalg.norm(X, axis=1)
    np.testing.assert_allclose(radius[labels == 0], 1.0)
    np.testing.assert_allclose(radius[labels == 1], 0.3)
    assert np.bincount(labels).tolist() == [200, 200]
    X, labels = data.two_spirals(n_per_class=50, noise=0.0, seed=0)
    np.testing.assert_allclose(X[labels == 1], -X[labels == 0])


def test_bad_arguments_raise_chainrule_errors():
    with pytest.raises(InvalidArgumentError, match="positive integer"):
        data.xor(n=0)
    with pytest.raises(InvalidArgumentError, match="seed"):
        data.blob_clouds(seed="zero")
    with pytest.raises(InvalidArgumentError, match="factor"):
        data.circles(factor=1.5)
    with pytest.raises(InvalidArgumentError, match="does not fit"):
        data.one_hot([0, 3], num_classes=2)


def test_load_digits_scaled_to_unit_interval():
    X, labels = data.load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert labels.shape == (1797,) and labels.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert np.bincount(labels).min() > 170
    assert cr.data.load_digits is data.load_digits


def test_missing_extra_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # as if not installed
    with pytest.raises(ImportError, match=r"chainrule\[data\]") as info:
        data.load_digits()
    assert isinstance(info.value, ChainruleError)
    assert "scikit-learn" in str(info.value)


# -- IDX files ------------------------------------------------------------------------------


def _idx_bytes(array: np.ndarray, code: int = 0x08) -> bytes:
    header = bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_mnist(directory, images, labels, prefix="train", compress=False):
    files = {
        f"{prefix}-images-idx3-ubyte": _idx_bytes(images),
        f"{prefix}-labels-idx1-ubyte": _idx_bytes(labels),
    }
    for name, payload in files.items():
        if compress:
            (directory / (name + ".gz")).write_bytes(gzip.compress(payload))
        else:
            (directory / name).write_bytes(payload)


@pytest.fixture
def tiny_mnist(rng):
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    return images, labels


@pytest.mark.parametrize("compress", [False, True])
def test_load_mnist_reads_plain_and_gzipped_idx(tmp_path, tiny_mnist, compress):
    images, labels = tiny_mnist
    write_mnist(tmp_path, images, labels, "train", compress)
    write_mnist(tmp_path, images[:2], labels[:2], "t10k", compress)
    X, y = data.load_mnist(tmp_path)
    assert X.shape == (5, 784) and X.dtype == np.float32
    np.testing.assert_allclose(X, images.reshape(5, -1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, [3, 1, 4, 1, 5])
    assert y.dtype == np.int64
    raw, y_test = data.load_mnist(tmp_path, "test", flatten=False, normalize=False)
    assert raw.dtype == np.uint8
    np.testing.assert_array_equal(raw, images[:2])
    np.testing.assert_array_equal(y_test, [3, 1])


def test_read_idx_other_dtypes(tmp_path):
    values = np.arange(-6, 6, dtype=np.float64).reshape(3, 4) / 4
    (tmp_path / "f.idx").write_bytes(_idx_bytes(values, 0x0E))
    np.testing.assert_array_equal(data.read_idx(tmp_path / "f.idx"), values)
    shorts = np.array([-300, 7, 30000], dtype=np.int16)
    (tmp_path / "s.idx").write_bytes(_idx_bytes(shorts, 0x0B))
    np.testing.assert_array_equal(data.read_idx(tmp_path / "s.idx"), shorts)


def test_wrong_magic_number_is_rejected(tmp_path, tiny_mnist):
    images, labels = tiny_mnist
    write_mnist(tmp_path, images, labels)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(b"\x12\x34\x56\x78" + path.read_bytes()[4:])
    with pytest.raises(InvalidArgumentError, match="bad magic number 0x12345678"):
        data.load_mnist(tmp_path)


@pytest.mark.parametrize("compress", [False, True])
def test_truncated_file_is_rejected(tmp_path, tiny_mnist, compress):
    images, labels = tiny_mnist
    payload = _idx_bytes(images)[:-100]
    name = "train-images-idx3-ubyte"
    if compress:
        (tmp_path / (name + ".gz")).write_bytes(gzip.compress(payload))
    else:
        (tmp_path / name).write_bytes(payload)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(labels))
    with pytest.raises(InvalidArgumentError, match=r"is truncated.*\(5, 28, 28\)"):
        data.load_mnist(tmp_path)


def test_truncated_header_and_broken_gzip_are_rejected(tmp_path):
    (tmp_path / "header.idx").write_bytes(bytes([0, 0, 8, 3, 0, 0]))
    with pytest.raises(InvalidArgumentError, match="truncated: its header needs 16 bytes"):
        data.read_idx(tmp_path / "header.idx")
    huge = bytes([0, 0, 8, 3]) + b"\xff\xff\xff\xff" * 3 + b"\0" * 10
    (tmp_path / "huge.idx").write_bytes(huge)
    with pytest.raises(InvalidArgumentError, match="is truncated"):
        data.read_idx(tmp_path / "huge.idx")
    idx = _idx_bytes(np.zeros((4, 4, 4), np.uint8))
    (tmp_path / "broken.gz").write_bytes(gzip.compress(idx)[:-9])
    with pytest.raises(InvalidArgumentError, match="not a valid gzip"):
        data.read_idx(tmp_path / "broken.gz")


def test_mismatched_counts_are_rejected(tmp_path, tiny_mnist):
    images, labels = tiny_mnist
    write_mnist(tmp_path, images, labels[:4])
    with pytest.raises(InvalidArgumentError, match="holds 5 images but .* holds 4 labels"):
        data.load_mnist(tmp_path)


def test_missing_files_are_not_found(tmp_path, tiny_mnist):
    with pytest.raises(NotFoundError, match="does not exist"):
        data.load_mnist(tmp_path / "nowhere")
    with pytest.raises(NotFoundError, match="train-images-idx3-ubyte"):
        data.load_mnist(tmp_path)
    images, labels = tiny_mnist
    write_mnist(tmp_path, images, labels)
    with pytest.raises(NotFoundError, match="t10k-images"):
        data.load_mnist(tmp_path, "test")
    with pytest.raises(InvalidArgumentError, match="split"):
        data.load_mnist(tmp_path, "validation")


# -- batches and splits ---------------------------------------------------------------------


def test_batches_cover_every_row_once_in_seeded_order():
    X = np.arange(20).reshape(10, 2)
    y = np.arange(10)
    chunks = list(data.batches(X, y, 4, seed=7))
    assert [len(b) for b, _ in chunks] == [4, 4, 2]
    rows = np.concatenate([yb for _, yb in chunks])
    assert sorted(rows.tolist()) == list(range(10))
    assert not np.array_equal(rows, np.arange(10))
    for Xb, yb in chunks:
        np.testing.assert_array_equal(Xb[:, 0], 2 * yb)
    again = np.concatenate([yb for _, yb in data.batches(X, y, 4, seed=7)])
    np.testing.assert_array_equal(rows, again)
    assert [len(b) for b, _ in data.batches(X, y, 4, drop_last=True)] == [4, 4]
    ordered = np.concatenate([yb for _, yb in data.batches(X, y, 3, shuffle=False)])
    np.testing.assert_array_equal(ordered, np.arange(10))


def test_batches_reject_bad_input():
    with pytest.raises(InvalidArgumentError, match="same number of rows"):
        list(data.batches(np.zeros((3, 2)), np.zeros(4), 2))
    with pytest.raises(InvalidArgumentError, match="batch_size"):
        list(data.batches(np.zeros((3, 2)), np.zeros(3), 0))


def test_train_test_split_is_a_seeded_partition():
    X = np.arange(100).reshape(50, 2)
    y = np.arange(50)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.2, seed=3)
    assert len(X_test) == 10 and len(X_train) == 40
    assert sorted(np.concatenate((y_train, y_test)).tolist()) == list(range(50))
    np.testing.assert_array_equal(X_test[:, 0], 2 * y_test)
    np.testing.assert_array_equal(y_test, data.train_test_split(X, y, 0.2, seed=3)[3])
    assert not np.array_equal(y_test, data.train_test_split(X, y, 0.2, seed=4)[3])
    assert len(data.train_test_split(X, y, test_size=7)[1]) == 7
    with pytest.raises(InvalidArgumentError, match="non-empty"):
        data.train_test_split(X, y, test_size=50)
    with pytest.raises(InvalidArgumentError, match="fraction"):
        data.train_test_split(X, y, test_size=1.5)


def peak_memory_of(fn) -> int:
    """The peak of Python's allocations while ``fn`` runs, in bytes."""
    import tracemalloc

    tracemalloc.start()
    try:
        fn()
    except InvalidArgumentError:
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def test_a_gzip_bomb_is_refused_without_inflating_it(tmp_path, tiny_mnist):
    images, labels = tiny_mnist
    bomb = gzip.compress(_idx_bytes(images) + bytes(200_000_000), compresslevel=9)
    assert len(bomb) < 300_000
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(bomb)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(labels))
    with pytest.raises(InvalidArgumentError, match=r"has trailing bytes.*\(5, 28, 28\)"):
        data.load_mnist(tmp_path)
    assert peak_memory_of(lambda: data.load_mnist(tmp_path)) < 5_000_000


@pytest.mark.parametrize("compress", [False, True])
def test_sizes_a_file_cannot_hold_are_refused_before_reading(tmp_path, compress):
    header = bytes([0, 0, 8, 3]) + struct.pack(">III", 60_000_000, 28, 28)
    payload = header + bytes(1000)
    name = "images.idx" + (".gz" if compress else "")
    (tmp_path / name).write_bytes(gzip.compress(payload) if compress else payload)
    kind = "a gzip file" if compress else "a file"
    with pytest.raises(InvalidArgumentError, match=f"more than {kind} of .* bytes can hold"):
        data.read_idx(tmp_path / name)
    assert peak_memory_of(lambda: data.read_idx(tmp_path / name)) < 1_000_000


@pytest.mark.parametrize("shape", [(0, 28, 28), (3, 0, 28)])
def test_mnist_files_without_images_are_refused(tmp_path, shape):
    images = np.zeros(shape, np.uint8)
    write_mnist(tmp_path, images, np.zeros(shape[0], np.uint8))
    with pytest.raises(InvalidArgumentError, match="holds no images") as info:
        data.load_mnist(tmp_path)
    assert "train-images-idx3-ubyte" in str(info.value)
