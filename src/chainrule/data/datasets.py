"""Data sets to train on: the tutorials' point clouds, toy 2-D problems, handwritten digits, MNIST.

Every toy generator takes ``seed`` (an int, a ``np.random.RandomState`` to draw from, or
``None`` for fresh entropy) and returns NumPy arrays ``(X, labels)``. Two-class point clouds
are ordered as the tutorials feed them: class 0 ("blue") first, then class 1 ("red"), so
``one_hot(labels)`` is exactly the ``c`` feed of the Deep Learning From Scratch series::

    X, labels = cr.data.blob_clouds(seed=0)      # X (100, 2) float64, labels (100,) int64
    feed_dict = {X_ph: X, c: cr.data.one_hot(labels)}
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..errors import InvalidArgumentError, MissingDependencyError, NotFoundError, require_module

__all__ = [
    "blob_clouds",
    "xor_clouds",
    "interval_task",
    "xor",
    "two_spirals",
    "circles",
    "one_hot",
    "load_digits",
    "load_mnist",
    "read_idx",
    "batches",
    "train_test_split",
    "MissingDependencyError",
]

Seed = int | np.random.RandomState | None


def _random_state(seed: Seed) -> np.random.RandomState:
    """A legacy RandomState, so seeded clouds match the tutorials' ``np.random.seed(...)`` draws."""
    if isinstance(seed, np.random.RandomState):
        return seed
    if seed is not None and (not isinstance(seed, int | np.integer) or isinstance(seed, bool)):
        raise InvalidArgumentError(
            f"seed must be an int, a numpy RandomState or None, got {seed!r}"
        )
    return np.random.RandomState(seed)


def _positive_int(value: Any, what: str) -> int:
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
        raise InvalidArgumentError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def _two_classes(class0: np.ndarray, class1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X = np.concatenate((class0, class1)).astype(np.float64)
    labels = np.concatenate((np.zeros(len(class0), np.int64), np.ones(len(class1), np.int64)))
    return X, labels


def blob_clouds(n_per_class: int = 50, seed: Seed = 0) -> tuple[np.ndarray, np.ndarray]:
    """Deep Learning From Scratch, part IV: red ~ N(-2, 1), blue ~ N(+2, 1) in 2-D; X (2n, 2), labels (2n,), blue = 0.

    Red is drawn first, then blue, as the tutorial does, so ``seed=0`` gives the points of
    ``np.random.seed(0)`` followed by the tutorial's two ``randn`` calls.
    """
    n = _positive_int(n_per_class, "n_per_class")
    rng = _random_state(seed)
    red = rng.randn(n, 2) - 2 * np.ones((n, 2))
    blue = rng.randn(n, 2) + 2 * np.ones((n, 2))
    return _two_classes(blue, red)


def xor_clouds(n_per_cluster: int = 25, seed: Seed = 1) -> tuple[np.ndarray, np.ndarray]:
    """Deep Learning From Scratch, part V: four clusters (sd 0.2) at the unit square's corners; X (4n, 2), labels (4n,).

    Class 0 (blue) sits at the corners where exactly one coordinate is 1, (0, 1) and (1, 0);
    class 1 (red) where both agree, (0, 0) and (1, 1): no line separates them, a hidden layer
    does. ``xor`` labels its quadrants the same way. The random numbers are drawn in the tutorial's
    order (the red clusters first), but the rows come blue first, as the tutorial feeds them.
    """
    n = _positive_int(n_per_cluster, "n_per_cluster")
    rng = _random_state(seed)
    red = np.concatenate(
        (
            0.2 * rng.randn(n, 2) + np.array([[0, 0]] * n),
            0.2 * rng.randn(n, 2) + np.array([[1, 1]] * n),
        )
    )
    blue = np.concatenate(
        (
            0.2 * rng.randn(n, 2) + np.array([[0, 1]] * n),
            0.2 * rng.randn(n, 2) + np.array([[1, 0]] * n),
        )
    )
    return _two_classes(blue, red)


def interval_task(n: int = 51) -> tuple[np.ndarray, np.ndarray]:
    """Seed 002's 1-D task: X (1, n) evenly spaced on [-1, 1], y (1, n) = 1.0 where |x| > 0.5.

    Examples are columns (the backprop notebook computes ``W @ A``); the grid is fixed, so there is no seed.
    """
    n = _positive_int(n, "n")
    X = np.linspace(-1, 1, n).reshape(1, n)
    y = ((X < -0.5) | (X > 0.5)).reshape(1, n).astype(np.float64)
    return X, y


def xor(n: int = 200, seed: Seed = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform on [-1, 1]^2: class 0 where exactly one coordinate is positive, else 1.

    The same corners as ``xor_clouds`` (and the tutorial's picture): class 0 (blue) at the top-left
    and bottom-right quadrants, class 1 (red) at the other two. X (n, 2) float64, labels (n,)
    int64.
    """
    n = _positive_int(n, "n")
    X = _random_state(seed).uniform(-1.0, 1.0, size=(n, 2))
    labels = ((X[:, 0] > 0) == (X[:, 1] > 0)).astype(np.int64)
    return X, labels


def two_spirals(
    n_per_class: int = 100, noise: float = 0.1, turns: float = 1.5, seed: Seed = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spirals (class 1 is class 0 turned by 180°); X (2n, 2), labels (2n,)."""
    n = _positive_int(n_per_class, "n_per_class")
    rng = _random_state(seed)
    radius = np.sqrt(rng.uniform(0.0, 1.0, n)) * 3.0
    angle = radius / 3.0 * turns * 2 * np.pi
    arm = np.stack((radius * np.cos(angle), radius * np.sin(angle)), axis=1)
    class0 = arm + noise * rng.randn(n, 2)
    class1 = -arm + noise * rng.randn(n, 2)
    return _two_classes(class0, class1)


def circles(
    n: int = 200, factor: float = 0.5, noise: float = 0.05, seed: Seed = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A small circle (class 1, radius ``factor``) inside a unit circle (class 0).

    X (n, 2) float64, labels (n,) int64; the outer circle gets ``n - n // 2`` points.
    """
    n = _positive_int(n, "n")
    if not 0 < factor < 1:
        raise InvalidArgumentError(f"factor must lie strictly between 0 and 1, got {factor!r}")
    rng = _random_state(seed)
    n_inner = n // 2
    n_outer = n - n_inner
    outer = _ring(rng, n_outer, 1.0) + noise * rng.randn(n_outer, 2)
    inner = _ring(rng, n_inner, factor) + noise * rng.randn(n_inner, 2)
    return _two_classes(outer, inner)


def _ring(rng: np.random.RandomState, n: int, radius: float) -> np.ndarray:
    angle = rng.uniform(0.0, 2 * np.pi, n)
    return radius * np.stack((np.cos(angle), np.sin(angle)), axis=1)


def one_hot(labels: Any, num_classes: int | None = None) -> np.ndarray:
    """Integer labels (n,) as float64 rows (n, num_classes): the tutorials' ``c`` feed."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or (labels.size and labels.dtype.kind not in "iub"):
        raise InvalidArgumentError(
            f"one_hot needs a 1-D array of integer labels, got shape {labels.shape} "
            f"of dtype {labels.dtype}"
        )
    labels = labels.astype(np.int64)
    if labels.size and labels.min() < 0:
        raise InvalidArgumentError(f"labels must be >= 0, got {labels.min()}")
    k = int(labels.max()) + 1 if num_classes is None and labels.size else (num_classes or 0)
    if labels.size and labels.max() >= k:
        raise InvalidArgumentError(f"label {labels.max()} does not fit num_classes={k}")
    out = np.zeros((labels.size, k), np.float64)
    out[np.arange(labels.size), labels] = 1.0
    return out


# -- real handwriting -----------------------------------------------------------------------


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 8×8 handwritten digits bundled with scikit-learn (UCI): X (1797, 64), labels (1797,).

    Pixels are float32 scaled to [0, 1] (the raw values run 0..16); labels are int64 0..9.
    Needs the ``data`` extra (scikit-learn); nothing is downloaded.
    """
    datasets = require_module("sklearn.datasets", "data", "load_digits()", "scikit-learn")
    bunch = datasets.load_digits()
    X = np.asarray(bunch.data, dtype=np.float32) / 16.0
    return X, np.asarray(bunch.target, dtype=np.int64)


_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


#: deflate inflates at most about 1032 bytes per compressed byte: a gzip file whose header
#: promises more data than that cannot hold it
MAX_DEFLATE_RATIO = 1032


def _open_idx(path: Path) -> tuple[IO[bytes], int, bool]:
    """The file's byte stream (gunzipped as it is read when it is gzipped), its size on disk
    and whether it is gzipped."""
    try:
        f = path.open("rb")
    except FileNotFoundError:
        raise NotFoundError(f"no such file: '{path}'") from None
    except OSError as err:
        raise InvalidArgumentError(f"cannot read '{path}': {err.strerror or err}") from None
    size = os.fstat(f.fileno()).st_size
    gzipped = f.read(2) == b"\x1f\x8b"
    f.seek(0)
    return (gzip.GzipFile(fileobj=f, mode="rb") if gzipped else f), size, gzipped


def _read_exactly(stream: IO[bytes], count: int, path: Path) -> bytes:
    """Up to ``count`` bytes of ``stream`` (fewer only at its end); gzip errors are clear."""
    try:
        return stream.read(count)
    except (OSError, EOFError, zlib.error) as err:
        raise InvalidArgumentError(f"'{path}' is not a valid gzip file: {err}") from None


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """One IDX file (the MNIST format; plain or gzipped) as an array of its stored shape.

    The sizes in the header are checked against the file before its data is read (or
    inflated), so a damaged or hostile file cannot make it allocate more than it holds.
    """
    path = Path(path)
    stream, size_on_disk, gzipped = _open_idx(path)
    with stream:
        start = _read_exactly(stream, 4, path)
        if len(start) < 4 or start[0] != 0 or start[1] != 0 or start[2] not in _IDX_DTYPES:
            magic = int.from_bytes(start.ljust(4, b"\0"), "big")
            raise InvalidArgumentError(
                f"'{path}' is not an IDX file: bad magic number 0x{magic:08X} "
                "(expected 0x000008.. for bytes, e.g. 0x00000803 for images, 0x00000801 for labels)"
            )
        dtype, ndim = _IDX_DTYPES[start[2]], start[3]
        header = 4 + 4 * ndim
        dims = _read_exactly(stream, 4 * ndim, path)
        if len(dims) < 4 * ndim:
            raise InvalidArgumentError(
                f"'{path}' is truncated: its header needs {header} bytes, "
                f"the file has {4 + len(dims)}"
            )
        shape = tuple(int.from_bytes(dims[4 * i : 4 * i + 4], "big") for i in range(ndim))
        expected = header + math.prod(shape) * dtype.itemsize
        capacity = size_on_disk * MAX_DEFLATE_RATIO if gzipped else size_on_disk
        if expected > capacity:
            raise InvalidArgumentError(
                f"'{path}' is truncated: the header promises shape {shape} ({expected} bytes "
                f"in all), more than {'a gzip file' if gzipped else 'a file'} of "
                f"{size_on_disk} bytes can hold"
            )
        body = _read_exactly(stream, expected - header, path)
        trailing = _read_exactly(stream, 1, path)
    if len(body) < expected - header or trailing:
        state = "has trailing bytes" if trailing else "is truncated"
        held = "more" if trailing else f"{header + len(body)} bytes"
        raise InvalidArgumentError(
            f"'{path}' {state}: the header promises shape {shape} ({expected} bytes in all), "
            f"the file has {held}"
        )
    return np.frombuffer(body, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


_MNIST_PREFIX = {"train": "train", "test": "t10k"}


def _find_idx(directory: Path, prefix: str, kind: str, dims: int) -> Path:
    """The file for e.g. ``train-images-idx3-ubyte``, in any of its usual spellings."""
    stems = [f"{prefix}-{kind}-idx{dims}-ubyte", f"{prefix}-{kind}.idx{dims}-ubyte"]
    candidates = [directory / (stem + suffix) for stem in stems for suffix in ("", ".gz")]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise NotFoundError(
        f"no MNIST {kind} file in '{directory}': looked for "
        + ", ".join(c.name for c in candidates)
    )


def load_mnist(
    path: str | os.PathLike, split: str = "train", flatten: bool = True, normalize: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST (or any data set in its IDX layout) from a directory the user has.

    Reads ``train-images-idx3-ubyte`` / ``train-labels-idx1-ubyte`` (``split="train"``) or
    ``t10k-…`` (``split="test"``), plain or ``.gz``. Returns images (n, 784) — (n, 28, 28)
    with ``flatten=False`` — as float32 in [0, 1] (uint8 with ``normalize=False``) and
    labels (n,) int64.
    """
    if split not in _MNIST_PREFIX:
        raise InvalidArgumentError(f"split must be 'train' or 'test', got {split!r}")
    directory = Path(path)
    if not directory.is_dir():
        raise NotFoundError(f"MNIST directory '{directory}' does not exist")
    prefix = _MNIST_PREFIX[split]
    images_path = _find_idx(directory, prefix, "images", 3)
    labels_path = _find_idx(directory, prefix, "labels", 1)
    images, labels = read_idx(images_path), read_idx(labels_path)
    _check_mnist_arrays(images, labels, images_path, labels_path)
    if flatten:
        images = images.reshape(len(images), -1)
    if normalize:
        images = images.astype(np.float32) / 255.0
    return images, labels.astype(np.int64)


def _check_mnist_arrays(
    images: np.ndarray, labels: np.ndarray, images_path: Path, labels_path: Path
) -> None:
    if images.ndim != 3 or images.dtype != np.uint8:
        raise InvalidArgumentError(
            f"'{images_path}' should hold unsigned bytes of shape (n, rows, cols), "
            f"got {images.dtype} of shape {images.shape}"
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise InvalidArgumentError(
            f"'{labels_path}' should hold unsigned bytes of shape (n,), "
            f"got {labels.dtype} of shape {labels.shape}"
        )
    if len(images) != len(labels):
        raise InvalidArgumentError(
            f"'{images_path.name}' holds {len(images)} images but '{labels_path.name}' "
            f"holds {len(labels)} labels"
        )
    if len(images) == 0 or images.shape[1] == 0 or images.shape[2] == 0:
        raise InvalidArgumentError(
            f"'{images_path}' holds no images (its header says {images.shape[0]} of "
            f"{images.shape[1]}x{images.shape[2]} pixels); there is nothing to learn from"
        )


# -- feeding ------------------------------------------------------------------------------


def _check_pair(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
        raise InvalidArgumentError(
            f"X and y need the same number of rows, got shapes {X.shape} and {y.shape}"
        )
    return X, y


def batches(
    X: Any,
    y: Any,
    batch_size: int,
    seed: int | Sequence[int] | None = None,
    shuffle: bool = True,
    drop_last: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of ``(X_batch, y_batch)`` pairs, shuffled by ``seed`` (rows are examples).

    ``seed`` is anything ``np.random.default_rng`` takes, e.g. ``[run_seed, epoch]``.
    """
    X, y = _check_pair(X, y)
    batch_size = _positive_int(batch_size, "batch_size")
    order = np.random.default_rng(seed).permutation(len(X)) if shuffle else np.arange(len(X))
    stop = len(X) - len(X) % batch_size if drop_last else len(X)
    for start in range(0, stop, batch_size):
        rows = order[start : start + batch_size]
        yield X[rows], y[rows]


def train_test_split(
    X: Any, y: Any, test_size: float = 0.2, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle once by ``seed`` and hold out ``test_size`` (fraction or count) of the rows.

    Returns ``X_train, X_test, y_train, y_test`` (scikit-learn's order).
    """
    X, y = _check_pair(X, y)
    n = len(X)
    if isinstance(test_size, float) and 0.0 < test_size < 1.0:
        n_test = int(np.ceil(test_size * n))
    elif isinstance(test_size, int | np.integer) and not isinstance(test_size, bool):
        n_test = int(test_size)
    else:
        raise InvalidArgumentError(
            f"test_size must be a fraction in (0, 1) or a row count, got {test_size!r}"
        )
    if not 0 < n_test < n:
        raise InvalidArgumentError(
            f"test_size={test_size!r} leaves {n_test} of {n} rows for testing; "
            "both parts must be non-empty"
        )
    order = np.random.default_rng(seed).permutation(n)
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]
