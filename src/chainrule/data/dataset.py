"""``tf.data`` as TF1 programs use it: ``Dataset`` pipelines read through iterators in a session.

A ``Dataset`` is built once in the graph and read with an iterator, whose ``get_next()`` is
one graph op giving the next element (as the data set's nested structure: a tensor, a tuple
or a dict of tensors); each run of something that depends on it advances the iterator by one
element, and a run past the end raises ``errors.OutOfRangeError``::

    dataset = Dataset.from_tensor_slices((X, labels)).shuffle(500, seed=1).batch(32)
    iterator = dataset.make_initializable_iterator()
    images, targets = iterator.get_next()
    ...
    sess.run(iterator.initializer)
    while True:
        try:
            sess.run(train)
        except errors.OutOfRangeError:
            break

The iterator's position is session state, like a variable's value: two sessions read
independently, and a run that raises does not advance it. ``map(fn)`` and ``filter(fn)``
call ``fn`` once, on placeholders standing for one element, so its ops are part of the graph
(under a name scope ``Dataset_map_<fn>``); the iterator runs them for every element.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..dtypes import as_dtype, int64
from ..errors import DTypeError, GraphError, InvalidArgumentError, ShapeError
from ..graph import Graph, Node, Tensor, TensorShape, get_default_graph, topological_order
from ..ops.base import Placeholder, convert_to_tensor
from ..ops.dataset_ops import DatasetDef, IteratorGetNext, IteratorOp, MakeIterator, Spec
from ..ops.random_ops import get_seed

__all__ = [
    "AUTOTUNE",
    "Dataset",
    "Iterator",
    "make_one_shot_iterator",
    "make_initializable_iterator",
    "get_output_types",
    "get_output_shapes",
    "get_output_classes",
]

#: ``prefetch(AUTOTUNE)``, ``map(fn, num_parallel_calls=AUTOTUNE)``: accepted (one thread)
AUTOTUNE = -1


# -- nested structures: tuples, namedtuples and dicts of components (lists are tensors) ------
def _is_nested(value: Any) -> bool:
    return isinstance(value, tuple | dict)


def _children(value: Any) -> list[Any]:
    return [value[k] for k in sorted(value)] if isinstance(value, dict) else list(value)


def flatten(structure: Any) -> list[Any]:
    """The components of ``structure`` in TF1's order (dict entries by sorted key)."""
    if not _is_nested(structure):
        return [structure]
    return [leaf for child in _children(structure) for leaf in flatten(child)]


def map_structure(fn: Callable[[Any], Any], structure: Any) -> Any:
    """``structure`` with every component replaced by ``fn(component)``, in flatten order."""
    if isinstance(structure, dict):
        mapped = {k: map_structure(fn, structure[k]) for k in sorted(structure)}
        return {k: mapped[k] for k in structure}
    if isinstance(structure, tuple):
        items = [map_structure(fn, item) for item in structure]
        return type(structure)(*items) if hasattr(structure, "_fields") else tuple(items)
    return fn(structure)


def pack(structure: Any, flat: Sequence[Any]) -> Any:
    """``flat`` components put back into the nesting of ``structure``."""
    items = iter(flat)
    return map_structure(lambda _: next(items), structure)


# -- data sets ---------------------------------------------------------------------------------
class Dataset:
    """A pipeline of elements, built in the graph and read through an iterator (TF1's API)."""

    def __init__(self, definition: DatasetDef, structure: Any, graph: Graph):
        self._definition = definition
        #: the element's nesting, with each component's position in the flat list as leaf
        self._structure = structure
        self._graph = graph

    # -- what an element looks like --------------------------------------------------------
    @property
    def _specs(self) -> tuple[Spec, ...]:
        return self._definition.specs

    @property
    def output_types(self) -> Any:
        """The dtype of each component, nested as the elements are."""
        return pack(self._structure, [dtype for _, dtype in self._specs])

    @property
    def output_shapes(self) -> Any:
        """The static shape of each component (``None`` for sizes known only when run)."""
        return pack(self._structure, [TensorShape(shape) for shape, _ in self._specs])

    @property
    def output_classes(self) -> Any:
        return pack(self._structure, [Tensor] * len(self._specs))

    def __repr__(self) -> str:
        return f"<Dataset {self._definition.kind} types={self.output_types!r}>"

    def __iter__(self) -> Any:
        raise GraphError(
            "a Dataset is read in a session: make an iterator (make_one_shot_iterator() or "
            "make_initializable_iterator()) and run its get_next()"
        )

    def _derive(
        self, kind: str, specs: Sequence[Spec], structure: Any = None, **kw: Any
    ) -> Dataset:
        definition = DatasetDef(kind, specs, children=[self._definition], **kw)
        return Dataset(definition, self._structure if structure is None else structure, self._graph)

    # -- sources -----------------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors: Any) -> Dataset:
        """One element per row (first-axis slice) of ``tensors`` (an array, tuple or dict)."""
        graph, components, structure = _components(tensors, "slices")
        specs = []
        for tensor in components:
            if tensor.shape is not None and len(tensor.shape) == 0:
                raise ShapeError("from_tensor_slices needs components of rank 1 or more", tensor)
            specs.append((None if tensor.shape is None else tuple(tensor.shape[1:]), tensor.dtype))
        _check_same_first_size(components)
        return Dataset(DatasetDef("slices", specs, params=[components]), structure, graph)

    @staticmethod
    def from_tensors(tensors: Any) -> Dataset:
        """A data set of one element: ``tensors`` itself."""
        graph, components, structure = _components(tensors, "tensors")
        specs = [(t.shape, t.dtype) for t in components]
        return Dataset(DatasetDef("tensors", specs, params=[components]), structure, graph)

    @staticmethod
    def range(*args: Any, output_type: Any = int64) -> Dataset:
        """``range(stop)``, ``range(start, stop)`` or ``range(start, stop, step)``, as int64."""
        if not 1 <= len(args) <= 3:
            raise InvalidArgumentError(f"range takes 1 to 3 arguments, got {len(args)}")
        start, stop, step = (0, args[0], 1) if len(args) == 1 else (*args, 1)[:3]
        dtype = as_dtype(output_type)
        if dtype is None or not dtype.is_integer:
            raise DTypeError(f"range gives integers, not {output_type!r}")
        params = [_scalar_param(p, "range") for p in (start, stop, step)]
        definition = DatasetDef("range", [((), dtype)], params=params)
        return Dataset(definition, 0, _graph_of(params))

    @staticmethod
    def zip(datasets: Any) -> Dataset:
        """Elements of several data sets side by side (a tuple or dict of data sets), until
        the shortest ends."""
        members = flatten(datasets)
        if not members or not all(isinstance(d, Dataset) for d in members):
            raise InvalidArgumentError("zip takes a tuple or dict of Datasets")
        offsets, total = [], 0
        for member in members:
            offsets.append(total)
            total += len(member._specs)
        shifted = iter(
            map_structure(lambda i, o=o: i + o, m._structure)
            for m, o in zip(members, offsets, strict=True)
        )
        structure = map_structure(lambda _: next(shifted), datasets)
        specs = [spec for m in members for spec in m._specs]
        definition = DatasetDef("zip", specs, children=[m._definition for m in members])
        return Dataset(definition, structure, members[0]._graph)

    # -- transformations --------------------------------------------------------------------
    def concatenate(self, dataset: Dataset) -> Dataset:
        """This data set's elements, then those of ``dataset`` (of the same structure)."""
        if dataset._structure != self._structure or [d for _, d in dataset._specs] != [
            d for _, d in self._specs
        ]:
            raise InvalidArgumentError(
                f"concatenate needs data sets of one structure and dtypes, got "
                f"{_describe(self._specs)} and {_describe(dataset._specs)}"
            )
        specs = [
            (_common_shape(a, b), dtype)
            for (a, dtype), (b, _) in zip(self._specs, dataset._specs, strict=True)
        ]
        definition = DatasetDef(
            "concatenate", specs, children=[self._definition, dataset._definition]
        )
        return Dataset(definition, self._structure, self._graph)

    def batch(self, batch_size: Any, drop_remainder: bool = False) -> Dataset:
        """Consecutive elements stacked ``batch_size`` at a time; the last batch is smaller
        unless ``drop_remainder``."""
        size = _scalar_param(batch_size, "batch")
        first = size if drop_remainder and isinstance(size, int) else None
        specs = []
        for shape, dtype in self._specs:
            if shape is None:
                raise ShapeError("batch needs components whose rank is known")
            specs.append(((first, *shape), dtype))
        return self._derive("batch", specs, params=[size, bool(drop_remainder)])

    def padded_batch(
        self,
        batch_size: Any,
        padded_shapes: Any = None,
        padding_values: Any = None,
        drop_remainder: bool = False,
    ) -> Dataset:
        """Batches of elements of different sizes, each component padded to ``padded_shapes``
        (``None`` or -1 sizes, or no shapes at all: the longest in the batch) with
        ``padding_values`` (zeros by default)."""
        size = _scalar_param(batch_size, "padded_batch")
        count = len(self._specs)
        shapes = (
            [None] * count
            if padded_shapes is None
            else _per_component(self._structure, padded_shapes, "padded_shapes")
        )
        fills = (
            [0] * count
            if padding_values is None
            else _per_component(self._structure, padding_values, "padding_values")
        )
        first = size if drop_remainder and isinstance(size, int) else None
        specs, targets = [], []
        for (shape, dtype), wanted in zip(self._specs, shapes, strict=True):
            if shape is None:
                raise ShapeError("padded_batch needs components whose rank is known")
            dims = shape if wanted is None else _padded_dims(wanted, shape)
            targets.append(dims)
            specs.append(((first, *dims), dtype))
        params = [size, bool(drop_remainder), targets, list(fills)]
        return self._derive("padded_batch", specs, params=params)

    def unbatch(self) -> Dataset:
        """Each row of each element as an element of its own (``batch`` undone)."""
        specs = []
        for shape, dtype in self._specs:
            if shape is not None and len(shape) == 0:
                raise ShapeError("unbatch needs components of rank 1 or more")
            specs.append((None if shape is None else tuple(shape[1:]), dtype))
        return self._derive("unbatch", specs)

    def cache(self, filename: str = "") -> Dataset:
        """Keep the elements the first full pass reads and give them again in later epochs
        (in memory, also when given a ``filename``), instead of recomputing them."""
        return self._derive("cache", self._specs)

    def shuffle(
        self,
        buffer_size: Any,
        seed: int | None = None,
        reshuffle_each_iteration: bool = True,
    ) -> Dataset:
        """Elements in random order, drawn from a buffer of ``buffer_size``; with a seed
        (or a graph seed) every session draws the same orders, a new one each epoch."""
        size = _scalar_param(buffer_size, "shuffle")
        seeds = get_seed(seed, self._graph)
        params = [size, bool(reshuffle_each_iteration)]
        return self._derive("shuffle", self._specs, params=params, seeds=seeds)

    def repeat(self, count: Any = None) -> Dataset:
        """The data set ``count`` times over (forever when ``count`` is None or -1)."""
        return self._derive("repeat", self._specs, params=[_count_param(count, "repeat")])

    def take(self, count: Any) -> Dataset:
        """The first ``count`` elements (all when -1)."""
        return self._derive("take", self._specs, params=[_count_param(count, "take")])

    def skip(self, count: Any) -> Dataset:
        """Every element after the first ``count`` (none when -1)."""
        return self._derive("skip", self._specs, params=[_count_param(count, "skip")])

    def shard(self, num_shards: Any, index: Any) -> Dataset:
        """Every ``num_shards``-th element, starting at ``index`` (one worker's share)."""
        params = [_scalar_param(num_shards, "shard"), _scalar_param(index, "shard")]
        return self._derive("shard", self._specs, params=params)

    def prefetch(self, buffer_size: Any = AUTOTUNE) -> Dataset:
        """Accepted: elements are made when asked for, so this changes nothing."""
        return self._derive("prefetch", self._specs)

    def map(self, map_func: Callable[..., Any], num_parallel_calls: Any = None) -> Dataset:
        """Each element transformed by ``map_func``, whose ops are built once into the graph."""
        args, results = self._trace("map", map_func)
        flat = [_as_result(r, self._graph) for r in flatten(results)]
        positions = iter(range(len(flat)))
        structure = map_structure(lambda _: next(positions), results)
        specs = [(t.shape, t.dtype) for t in flat]
        return self._derive("map", specs, structure, function=(args, flat))

    def filter(self, predicate: Callable[..., Any]) -> Dataset:
        """The elements for which ``predicate`` gives True (a boolean scalar tensor)."""
        args, result = self._trace("filter", predicate)
        keep = _as_result(result, self._graph)
        if keep.dtype is None or keep.dtype.name != "bool" or keep.shape not in ((), None):
            raise DTypeError("filter's predicate must return a boolean scalar", keep)
        return self._derive("filter", self._specs, function=(args, [keep]))

    def apply(self, transformation_func: Callable[[Dataset], Dataset]) -> Dataset:
        """``transformation_func(self)``, for chaining."""
        return transformation_func(self)

    def _trace(self, kind: str, fn: Callable[..., Any]) -> tuple[list[Tensor], Any]:
        """Call ``fn`` once on placeholders standing for one element; its ops join the graph."""
        label = getattr(fn, "__name__", "fn").replace("<", "").replace(">", "")
        with self._graph.as_default(), self._graph.name_scope(f"Dataset_{kind}_{label}"):
            args = [
                Placeholder(dtype=dtype, shape=shape, name=f"arg{i}")
                for i, (shape, dtype) in enumerate(self._specs)
            ]
            element = pack(self._structure, args)
            # TF1 unpacks a plain tuple into arguments; a namedtuple or dict is one argument
            result = fn(*element) if type(element) is tuple else fn(element)
        return args, result

    # -- iterators ---------------------------------------------------------------------------
    def make_one_shot_iterator(self) -> Iterator:
        """An iterator that starts itself on its first run (no placeholders allowed)."""
        placeholders = _placeholders_below(self._definition.tensors())
        if placeholders:
            raise GraphError(
                f"a one-shot iterator cannot read placeholders ({', '.join(placeholders)}): "
                "use make_initializable_iterator() and feed them when running its initializer"
            )
        with self._graph.as_default():
            op = IteratorOp(self._specs, name="OneShotIterator").op
        return Iterator(op, self._structure, one_shot=self._definition)

    def make_initializable_iterator(self, shared_name: str | None = None) -> Iterator:
        """An iterator started (and restarted) by running its ``initializer``."""
        with self._graph.as_default():
            op = IteratorOp(self._specs).op
        iterator = Iterator(op, self._structure)
        iterator._initializer = iterator.make_initializer(self)
        return iterator


class Iterator:
    """Reads a data set in a session: ``get_next()`` gives the next element."""

    def __init__(self, op: IteratorOp, structure: Any, one_shot: DatasetDef | None = None):
        self._op = op
        self._structure = structure
        self._one_shot = one_shot
        self._initializer: Node | None = None

    @staticmethod
    def from_structure(
        output_types: Any,
        output_shapes: Any = None,
        shared_name: str | None = None,
        output_classes: Any = None,
    ) -> Iterator:
        """An iterator for any data set of this structure, started by ``make_initializer``."""
        types = flatten(output_types)
        shapes = [None] * len(types) if output_shapes is None else flatten(output_shapes)
        if len(shapes) != len(types):
            raise InvalidArgumentError("output_shapes must have the structure of output_types")
        specs = [(_shape_dims(s), as_dtype(t)) for s, t in zip(shapes, types, strict=True)]
        positions = iter(range(len(types)))
        structure = map_structure(lambda _: next(positions), output_types)
        return Iterator(IteratorOp(specs, name="Iterator").op, structure)

    @property
    def initializer(self) -> Node:
        """The op that starts this iterator on its data set (run it again to restart)."""
        if self._initializer is None:
            raise GraphError(
                "this iterator has no initializer of its own: "
                + (
                    "a one-shot iterator starts itself"
                    if self._one_shot is not None
                    else "use make_initializer(dataset)"
                ),
                self._op,
            )
        return self._initializer

    def make_initializer(self, dataset: Dataset, name: str | None = None) -> Node:
        """An op that starts this iterator on ``dataset`` (whose structure must fit)."""
        specs = self._op.specs
        if dataset._structure != self._structure or not _fits(dataset._specs, specs):
            raise InvalidArgumentError(
                f"the data set's elements ({_describe(dataset._specs)}) do not fit this "
                f"iterator's ({_describe(specs)})",
                self._op,
            )
        with self._op.graph.as_default():
            return MakeIterator(dataset._definition, self._op, name=name)

    def get_next(self, name: str | None = None) -> Any:
        """The next element, as one ``IteratorGetNext`` op: a tensor per component, nested as
        the data set's elements; running past the end raises ``OutOfRangeError``."""
        with self._op.graph.as_default():
            built = IteratorGetNext(self._op, self._one_shot, name=name)
        op = built.op if isinstance(built, Tensor) else built
        return pack(self._structure, list(op.outputs))

    def string_handle(self) -> Tensor:
        """The iterator's name as a string tensor (TF1's handle)."""
        return self._op.outputs[0]

    @property
    def output_types(self) -> Any:
        return pack(self._structure, [dtype for _, dtype in self._op.specs])

    @property
    def output_shapes(self) -> Any:
        return pack(self._structure, [TensorShape(shape) for shape, _ in self._op.specs])

    @property
    def output_classes(self) -> Any:
        return pack(self._structure, [Tensor] * len(self._op.specs))


def make_one_shot_iterator(dataset: Dataset) -> Iterator:
    """``tf.compat.v1.data.make_one_shot_iterator(dataset)``."""
    return dataset.make_one_shot_iterator()


def make_initializable_iterator(dataset: Dataset, shared_name: str | None = None) -> Iterator:
    """``tf.compat.v1.data.make_initializable_iterator(dataset)``."""
    return dataset.make_initializable_iterator(shared_name)


def get_output_types(dataset_or_iterator: Dataset | Iterator) -> Any:
    return dataset_or_iterator.output_types


def get_output_shapes(dataset_or_iterator: Dataset | Iterator) -> Any:
    return dataset_or_iterator.output_shapes


def get_output_classes(dataset_or_iterator: Dataset | Iterator) -> Any:
    return dataset_or_iterator.output_classes


# -- helpers -----------------------------------------------------------------------------------
def _components(tensors: Any, what: str) -> tuple[Graph, list[Tensor], Any]:
    """The graph, the flat component tensors (Python values become constants) and the
    element structure of a source's ``tensors``."""
    leaves = flatten(tensors)
    if not leaves:
        raise InvalidArgumentError(f"a data set needs at least one component, got {tensors!r}")
    graph = _graph_of(leaves)
    with graph.as_default(), graph.name_scope("tensors"):
        components = [
            convert_to_tensor(leaf, name=f"component_{i}") for i, leaf in enumerate(leaves)
        ]
    positions = iter(range(len(components)))
    return graph, components, map_structure(lambda _: next(positions), tensors)


def _graph_of(values: Sequence[Any]) -> Graph:
    for value in values:
        if isinstance(value, Tensor | Node):
            return value.graph
    return get_default_graph()


def _check_same_first_size(components: Sequence[Tensor]) -> None:
    sizes = {t.shape[0] for t in components if t.shape is not None and t.shape[0] is not None}
    if len(sizes) > 1:
        raise ShapeError(
            f"from_tensor_slices needs components with one first size, got {sorted(sizes)}",
            components[0],
        )


def _scalar_param(value: Any, what: str) -> Any:
    """A Python int, or an integer scalar tensor whose value the iterator's start reads."""
    if isinstance(value, Tensor | Node):
        tensor = convert_to_tensor(value)
        if tensor.dtype is not None and not tensor.dtype.is_integer:
            raise DTypeError(f"{what} needs an integer, got {tensor.dtype.name}", tensor)
        return tensor
    if isinstance(value, bool) or int(value) != value:
        raise InvalidArgumentError(f"{what} needs an integer, got {value!r}")
    return int(value)


def _count_param(count: Any, what: str) -> Any:
    return -1 if count is None else _scalar_param(count, what)


def _as_result(value: Any, graph: Graph) -> Tensor:
    """A map or filter function's result as a tensor of the data set's graph."""
    if isinstance(value, Node) and not value.outputs:
        raise InvalidArgumentError("map and filter functions must return tensors", value)
    with graph.as_default():
        return convert_to_tensor(value)


def _placeholders_below(tensors: Sequence[Tensor]) -> list[str]:
    ops = topological_order(list(tensors)) if tensors else []
    return [op.name for op in ops if isinstance(op, Placeholder)]


def _shape_dims(shape: Any) -> Any:
    if shape is None:
        return None
    dims = getattr(shape, "dims", shape)
    return None if dims is None else tuple(None if d is None else int(d) for d in dims)


def _fits(given: Sequence[Spec], wanted: Sequence[Spec]) -> bool:
    """Whether components of ``given`` specs can come out of an iterator of ``wanted`` ones."""
    for (shape, dtype), (want_shape, want_dtype) in zip(given, wanted, strict=True):
        if want_dtype is not None and dtype != want_dtype:
            return False
        if want_shape is None or shape is None:
            continue
        if len(shape) != len(want_shape) or any(
            w is not None and s != w for s, w in zip(shape, want_shape, strict=True)
        ):
            return False
    return True


def _per_component(structure: Any, given: Any, what: str) -> list[Any]:
    """``given`` (nested as the elements are, shapes and values as leaves) per component."""
    if not _is_nested(structure):
        return [given]
    try:
        return _flatten_like(structure, given)
    except (KeyError, IndexError, TypeError):
        raise InvalidArgumentError(f"{what} must be nested as the elements are") from None


def _flatten_like(structure: Any, given: Any) -> list[Any]:
    if not _is_nested(structure):
        return [given]
    if isinstance(structure, dict):
        if set(given) != set(structure):
            raise KeyError(set(given) ^ set(structure))
        return [leaf for k in sorted(structure) for leaf in _flatten_like(structure[k], given[k])]
    if len(given) != len(structure):
        raise IndexError(len(given))
    return [leaf for s, g in zip(structure, given, strict=True) for leaf in _flatten_like(s, g)]


def _padded_dims(wanted: Any, shape: tuple) -> tuple:
    """A padded shape as sizes (``None`` for the batch's longest), checked against ``shape``."""
    dims = [None if d is None or int(d) < 0 else int(d) for d in getattr(wanted, "dims", wanted)]
    if len(dims) != len(shape) or any(
        w is not None and s is not None and s > w for w, s in zip(dims, shape, strict=True)
    ):
        raise ShapeError(
            f"padded_batch: padded shape {dims} does not fit components of shape {list(shape)}"
        )
    return tuple(dims)


def _common_shape(a: Any, b: Any) -> Any:
    """The static shape both of two shapes have (sizes that differ become unknown)."""
    if a is None or b is None or len(a) != len(b):
        return None
    return tuple(x if x == y else None for x, y in zip(a, b, strict=True))


def _describe(specs: Sequence[Spec]) -> str:
    return ", ".join(
        f"{'?' if d is None else d.name}{'[?]' if s is None else list(s)}" for s, d in specs
    )
