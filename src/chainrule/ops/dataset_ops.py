"""Input pipelines as graph ops: what ``tf.data`` builds, run as a session's iterators.

A data set is described by a tree of ``DatasetDef`` (a source, or a transformation of other
data sets) over flat lists of components; ``chainrule.data`` gives it TF1's ``Dataset`` API
and nested structures. Three ops run it, as in TF1:

- ``IteratorV2`` names an iterator; its state (where the pipeline stands) lives in each
  session's store as a resource, like a variable's value, so two sessions iterate
  independently. The two ops below name it as a control input (its value, a string handle,
  is no number for the tools that show values);
- ``MakeIterator`` (``iterator.initializer``) starts the pipeline from the values of the
  tensors the data set was built from (placeholders are fed at this run);
- ``IteratorGetNext`` gives the next element, one output per component, or raises
  ``OutOfRangeError`` at the end. It is a write: a run that raises leaves the iterator where
  it was (the store keeps a snapshot of the pipeline while the run may still fail).

``map`` and ``filter`` functions are sub-graphs of the same graph, built once on placeholders
that stand for one element; the pipeline runs them per element through the run context.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..dtypes import DType, string
from ..errors import FailedPreconditionError, InvalidArgumentError, OutOfRangeError
from ..graph import Node, Tensor
from .base import Operation
from .registry import NotDifferentiable
from .shapes import Shape

__all__ = [
    "DatasetDef",
    "Spec",
    "IteratorOp",
    "MakeIterator",
    "IteratorGetNext",
]

#: the static ``(shape, dtype)`` of one component of an element
Spec = tuple[Shape, DType | None]
#: one element: a value per component (``None`` from a stage means the end)
Element = tuple[Any, ...]


# -- how a pipeline runs: stages with a state that can be saved and put back ----------------
class Start:
    """What starting a pipeline needs: the values of its tensors, its compiled functions and
    its random draws (one stream per shuffle, shared by the epochs of a ``repeat``)."""

    def __init__(self, values: dict[int, Any], functions: dict[int, Callable[..., list]]):
        self.values = values
        self.functions = functions
        self.draws: dict[int, _Draws] = {}
        #: what each ``cache()`` kept
        self.caches: dict[int, _Cached] = {}
        #: each source's arrays, copied once (when the iterator starts), shared by the epochs
        self.arrays: dict[int, list[np.ndarray]] = {}

    def value(self, item: Any) -> Any:
        """A parameter's value: a Python number, or the value of a tensor of the data set."""
        return self.values[id(item)] if isinstance(item, Tensor) else item


class Stage:
    """A running data set: ``next()`` gives an element or ``None`` at the end; ``snapshot`` and
    ``restore`` let a failed run put it back."""

    def next(self) -> Element | None:
        raise NotImplementedError

    def snapshot(self) -> Any:
        raise NotImplementedError

    def restore(self, state: Any) -> None:
        raise NotImplementedError


class _Slices(Stage):
    def __init__(self, arrays: Sequence[np.ndarray]):
        self.arrays = arrays
        self.size = len(arrays[0]) if arrays else 0
        self.position = 0

    def next(self) -> Element | None:
        i = self.position
        if i >= self.size:
            return None
        self.position = i + 1
        return tuple(a[i] for a in self.arrays)

    def next_index(self) -> int | None:
        """The number of the next row (the row itself is not made)."""
        i = self.position
        if i >= self.size:
            return None
        self.position = i + 1
        return i

    def take(self, count: int, whole: bool) -> Element | None:
        """The next ``count`` rows at once (fewer at the end unless ``whole``)."""
        i = self.position
        end = min(i + count, self.size)
        if end == i or (whole and end - i < count):
            return None
        self.position = end
        return tuple(a[i:end] for a in self.arrays)

    def snapshot(self) -> Any:
        return self.position

    def restore(self, state: Any) -> None:
        self.position = state


class _Once(Stage):
    def __init__(self, element: Element):
        self.element = element
        self.done = False

    def next(self) -> Element | None:
        if self.done:
            return None
        self.done = True
        return self.element

    def snapshot(self) -> Any:
        return self.done

    def restore(self, state: Any) -> None:
        self.done = state


class _Range(Stage):
    def __init__(self, start: int, stop: int, step: int, dtype: np.dtype):
        self.current, self.stop, self.step, self.dtype = start, stop, step, dtype

    def next(self) -> Element | None:
        current = self.current
        if (current - self.stop) * self.step >= 0:
            return None
        self.current = current + self.step
        return (self.dtype.type(current),)

    def snapshot(self) -> Any:
        return self.current

    def restore(self, state: Any) -> None:
        self.current = state


class _Zip(Stage):
    def __init__(self, children: Sequence[Stage]):
        self.children = children

    def next(self) -> Element | None:
        parts = []
        for child in self.children:
            element = child.next()
            if element is None:
                return None
            parts.extend(element)
        return tuple(parts)

    def snapshot(self) -> Any:
        return tuple(c.snapshot() for c in self.children)

    def restore(self, state: Any) -> None:
        for child, saved in zip(self.children, state, strict=True):
            child.restore(saved)


class _Batch(Stage):
    def __init__(self, child: Stage, size: int, drop_remainder: bool):
        self.child, self.size, self.drop_remainder = child, size, drop_remainder

    def next(self) -> Element | None:
        child = self.child
        if type(child) is _Slices or (type(child) is _Shuffle and child.rows is not None):
            return child.take(self.size, self.drop_remainder)
        rows = self.rows()
        if rows is None:
            return None
        return tuple(_stack([row[i] for row in rows], i) for i in range(len(rows[0])))

    def rows(self) -> list[Element] | None:
        """The child's next ``size`` elements (fewer at its end, unless ``drop_remainder``);
        ``None`` when there is no batch left."""
        rows = []
        while len(rows) < self.size:
            element = self.child.next()
            if element is None:
                break
            rows.append(element)
        if not rows or (self.drop_remainder and len(rows) < self.size):
            return None
        return rows

    def snapshot(self) -> Any:
        return self.child.snapshot()

    def restore(self, state: Any) -> None:
        self.child.restore(state)


def _stack(values: list[Any], component: int) -> np.ndarray:
    try:
        return np.array(values)  # faster than np.stack for rows of one shape; ragged raise
    except ValueError:
        shapes = sorted({np.shape(v) for v in values})
        raise InvalidArgumentError(
            f"cannot batch elements of different shapes in component {component}: "
            f"{shapes}; batch needs every element of a component to have one shape"
        ) from None


class _Draws:
    """Uniform numbers in [0, 1) from a generator, drawn a block at a time (one call per
    block, not per element); ``snapshot`` is cheap, for a run that may be undone."""

    BLOCK = 256

    def __init__(self, generator: np.random.Generator):
        self.generator = generator
        self.block: list[float] = []
        self.position = 0
        self.after = generator.bit_generator.state

    def next(self) -> float:
        if self.position == len(self.block):
            self.block = self.generator.random(self.BLOCK).tolist()
            self.after = self.generator.bit_generator.state
            self.position = 0
        value = self.block[self.position]
        self.position += 1
        return value

    def snapshot(self) -> Any:
        return self.block, self.position, self.after

    def restore(self, state: Any) -> None:
        self.block, self.position, self.after = state
        self.generator.bit_generator.state = self.after


class _PaddedBatch(_Batch):
    """Batches whose components are padded to ``shapes`` (``None`` sizes: the batch's
    largest) with ``values``."""

    def __init__(self, child: Stage, size: int, drop_remainder: bool, shapes: Any, values: Any):
        super().__init__(child, size, drop_remainder)
        self.shapes, self.values = shapes, values

    def next(self) -> Element | None:
        rows = self.rows()
        if rows is None:
            return None
        return tuple(
            _pad([row[i] for row in rows], self.shapes[i], self.values[i], i)
            for i in range(len(rows[0]))
        )


def _pad(values: list[Any], shape: tuple, fill: Any, component: int) -> np.ndarray:
    arrays = [np.asarray(v) for v in values]
    largest = np.max([a.shape for a in arrays], axis=0) if arrays[0].ndim else ()
    target = tuple(int(m) if t is None else t for t, m in zip(shape, largest, strict=True))
    for array in arrays:
        if any(have > want for have, want in zip(array.shape, target, strict=True)):
            raise InvalidArgumentError(
                f"padded_batch: an element of component {component} has shape "
                f"{array.shape}, larger than the padded shape {list(target)}"
            )
    out = np.full((len(arrays), *target), fill, dtype=arrays[0].dtype)
    for i, array in enumerate(arrays):
        out[(i, *(slice(0, d) for d in array.shape))] = array
    return out


class _Shuffle(Stage):
    """TF1's shuffle: fill a buffer, give a random one of it and put the next element there."""

    def __init__(self, child: Stage, buffer_size: int, draws: _Draws):
        self.child, self.buffer_size, self.draws = child, buffer_size, draws
        #: over slices of arrays, the buffer holds row numbers: rows are made when given out
        self.rows = child.arrays if type(child) is _Slices else None
        self.pull = child.next_index if type(child) is _Slices else child.next
        self.buffer: list[Any] = []
        self.filled = False

    def next(self) -> Element | None:
        item = self.next_item()
        if item is None or self.rows is None:
            return item
        return tuple(a[item] for a in self.rows)

    def take(self, count: int, whole: bool) -> Element | None:
        """Over slices: the next ``count`` rows at once, gathered in one step per component."""
        indices = []
        while len(indices) < count:
            item = self.next_item()
            if item is None:
                break
            indices.append(item)
        if not indices or (whole and len(indices) < count):
            return None
        return tuple(a[indices] for a in self.rows)

    def next_item(self) -> Any:
        """The next element (a row number over slices), or ``None`` at the end."""
        buffer, pull = self.buffer, self.pull
        if not self.filled:
            while len(buffer) < self.buffer_size:
                item = pull()
                if item is None:
                    break
                buffer.append(item)
            self.filled = True
        size = len(buffer)
        if not size:
            return None
        index = min(int(self.draws.next() * size), size - 1)
        chosen = buffer[index]
        following = pull()
        if following is not None:
            buffer[index] = following
        else:
            buffer[index] = buffer[-1]
            buffer.pop()
        return chosen

    def snapshot(self) -> Any:
        return list(self.buffer), self.filled, self.draws.snapshot(), self.child.snapshot()

    def restore(self, state: Any) -> None:
        buffer, self.filled, draws, child = state
        self.buffer = list(buffer)
        self.draws.restore(draws)
        self.child.restore(child)


class _Repeat(Stage):
    def __init__(self, definition: DatasetDef, start: Start, count: int):
        self.definition, self.start, self.count = definition, start, count
        self.epoch = 0
        self.child: Stage | None = definition.child_stage(0, start) if count != 0 else None
        self.produced = False

    def next(self) -> Element | None:
        while self.child is not None:
            element = self.child.next()
            if element is not None:
                self.produced = True
                return element
            self.epoch += 1
            if not self.produced or 0 <= self.count <= self.epoch:
                self.child = None
            else:
                self.child = self.definition.child_stage(0, self.start)
                self.produced = False
        return None

    def snapshot(self) -> Any:
        child = self.child
        return self.epoch, self.produced, child, None if child is None else child.snapshot()

    def restore(self, state: Any) -> None:
        self.epoch, self.produced, self.child, saved = state
        if self.child is not None:
            self.child.restore(saved)


class _Concatenate(Stage):
    def __init__(self, definition: DatasetDef, start: Start):
        self.definition, self.start = definition, start
        self.index = 0
        self.child = definition.child_stage(0, start)

    def next(self) -> Element | None:
        while True:
            element = self.child.next()
            if element is not None or self.index + 1 == len(self.definition.children):
                return element
            self.index += 1
            self.child = self.definition.child_stage(self.index, self.start)

    def snapshot(self) -> Any:
        return self.index, self.child, self.child.snapshot()

    def restore(self, state: Any) -> None:
        self.index, self.child, saved = state
        self.child.restore(saved)


class _Unbatch(Stage):
    def __init__(self, child: Stage):
        self.child = child
        self.batch: Element | None = None
        self.index = 0

    def next(self) -> Element | None:
        while self.batch is None or self.index >= len(self.batch[0]):
            self.batch = self.child.next()
            self.index = 0
            if self.batch is None:
                return None
        i = self.index
        self.index = i + 1
        return tuple(component[i] for component in self.batch)

    def snapshot(self) -> Any:
        return self.batch, self.index, self.child.snapshot()

    def restore(self, state: Any) -> None:
        self.batch, self.index, child = state
        self.child.restore(child)


class _Cached:
    """The elements a ``cache()`` kept, once a pass read its input to the end."""

    def __init__(self) -> None:
        self.rows: list[Element] = []
        self.complete = False


class _Cache(Stage):
    """Reads its input and keeps the elements; once a pass has read it all, later passes
    (the next epochs of a ``repeat``) read the kept elements instead."""

    def __init__(self, definition: DatasetDef, start: Start):
        self.cached = start.caches.setdefault(id(definition), _Cached())
        self.position = 0
        self.written: list[Element] = []
        self.child = None if self.cached.complete else definition.child_stage(0, start)

    def next(self) -> Element | None:
        if self.child is None:
            rows, i = self.cached.rows, self.position
            if i >= len(rows):
                return None
            self.position = i + 1
            return rows[i]
        element = self.child.next()
        if element is None:
            self.cached.rows, self.cached.complete = self.written, True
            self.child = None
            self.position = len(self.written)
            return None
        self.written.append(element)
        return element

    def snapshot(self) -> Any:
        cached, child = self.cached, self.child
        return (
            self.position,
            len(self.written),
            child,
            None if child is None else child.snapshot(),
            cached.rows,
            cached.complete,
        )

    def restore(self, state: Any) -> None:
        self.position, written, self.child, child, rows, complete = state
        del self.written[written:]
        if self.child is not None:
            self.child.restore(child)
        self.cached.rows, self.cached.complete = rows, complete


class _Map(Stage):
    def __init__(self, child: Stage, function: Callable[..., list]):
        self.child, self.function = child, function

    def next(self) -> Element | None:
        element = self.child.next()
        if element is None:
            return None
        return tuple(self.function(*element))

    def snapshot(self) -> Any:
        return self.child.snapshot()

    def restore(self, state: Any) -> None:
        self.child.restore(state)


class _Filter(_Map):
    def next(self) -> Element | None:
        while True:
            element = self.child.next()
            if element is None or bool(self.function(*element)[0]):
                return element


class _Take(Stage):
    def __init__(self, child: Stage, count: int):
        self.child, self.left = child, count

    def next(self) -> Element | None:
        if self.left == 0:
            return None
        element = self.child.next()
        if element is not None and self.left > 0:
            self.left -= 1
        return element

    def snapshot(self) -> Any:
        return self.left, self.child.snapshot()

    def restore(self, state: Any) -> None:
        self.left, child = state
        self.child.restore(child)


class _Skip(_Take):
    def next(self) -> Element | None:
        while self.left != 0:
            if self.child.next() is None:
                self.left = 0
                return None
            if self.left > 0:
                self.left -= 1
        return self.child.next()


class _Shard(Stage):
    def __init__(self, child: Stage, num_shards: int, index: int):
        self.child, self.num_shards, self.index = child, num_shards, index
        self.position = 0

    def next(self) -> Element | None:
        while True:
            element = self.child.next()
            if element is None:
                return None
            position = self.position
            self.position += 1
            if position % self.num_shards == self.index:
                return element

    def snapshot(self) -> Any:
        return self.position, self.child.snapshot()

    def restore(self, state: Any) -> None:
        self.position, child = state
        self.child.restore(child)


# -- what a data set is: sources and transformations over flat components -------------------
class DatasetDef:
    """One node of a data set's definition: its kind, children, the tensors and numbers it
    takes, the sub-graphs it runs, and the static ``specs`` of its components."""

    def __init__(
        self,
        kind: str,
        specs: Sequence[Spec],
        children: Sequence[DatasetDef] = (),
        params: Sequence[Any] = (),
        function: tuple[Sequence[Tensor], Sequence[Tensor]] | None = None,
        seeds: Any = None,
    ):
        if kind not in _STARTS:
            raise InvalidArgumentError(f"unknown kind of data set {kind!r}")
        self.kind = kind
        self.specs = tuple(specs)
        self.children = tuple(children)
        self.params = tuple(params)
        #: ``(placeholders of one element, results)`` for map and filter
        self.function = function
        self.seeds = seeds

    def tensors(self) -> list[Tensor]:
        """Every tensor the data set is built from (its sources' values, tensor parameters),
        once each, in a fixed order: the inputs of the op that starts it."""
        found: dict[int, Tensor] = {}
        for definition in self.walk():
            for param in definition.params:
                for tensor in param if isinstance(param, list) else [param]:
                    if isinstance(tensor, Tensor):
                        found.setdefault(id(tensor), tensor)
        return list(found.values())

    def walk(self) -> list[DatasetDef]:
        """This definition and every one below it."""
        result, stack = [], [self]
        while stack:
            definition = stack.pop()
            result.append(definition)
            stack.extend(definition.children)
        return result

    def compile(self, context: Any) -> dict[int, Callable[..., list]]:
        """The sub-graphs of map and filter, compiled in the session of ``context``."""
        return {
            id(d): context.compile(list(d.function[1]), list(d.function[0]))
            for d in self.walk()
            if d.function is not None
        }

    def stage(self, start: Start) -> Stage:
        """A running pipeline of this data set, from its first element."""
        return _STARTS[self.kind](self, start)

    def child_stage(self, index: int, start: Start) -> Stage:
        return self.children[index].stage(start)


def _start_slices(d: DatasetDef, start: Start) -> Stage:
    arrays = start.arrays.get(id(d))
    if arrays is None:
        arrays = start.arrays[id(d)] = _copied_slices(d, start)
    return _Slices(arrays)


def _copied_slices(d: DatasetDef, start: Start) -> list[np.ndarray]:
    arrays = [np.array(start.value(t)) for t in d.params[0]]
    sizes = {len(a) if a.ndim else None for a in arrays}
    if None in sizes:
        raise InvalidArgumentError("from_tensor_slices needs components of rank 1 or more")
    if len(sizes) > 1:
        raise InvalidArgumentError(
            f"from_tensor_slices needs components with one first size, got {sorted(sizes)}"
        )
    return arrays


def _start_tensors(d: DatasetDef, start: Start) -> Stage:
    return _Once(tuple(np.array(start.value(t)) for t in d.params[0]))


def _start_range(d: DatasetDef, start: Start) -> Stage:
    first, stop, step = (int(start.value(p)) for p in d.params)
    if step == 0:
        raise InvalidArgumentError("range needs a step other than 0")
    return _Range(first, stop, step, d.specs[0][1].np)


def _count(d: DatasetDef, start: Start, index: int = 0) -> int:
    value = int(start.value(d.params[index]))
    return -1 if value < 0 else value


def _positive(d: DatasetDef, start: Start, what: str) -> int:
    value = int(start.value(d.params[0]))
    if value <= 0:
        raise InvalidArgumentError(f"{d.kind} needs a positive {what}, got {value}")
    return value


def _start_batch(d: DatasetDef, start: Start) -> Stage:
    size = _positive(d, start, "batch size")
    return _Batch(d.child_stage(0, start), size, bool(d.params[1]))


def _start_padded_batch(d: DatasetDef, start: Start) -> Stage:
    size = _positive(d, start, "batch size")
    shapes = [
        tuple(None if s is None or int(s) < 0 else int(s) for s in start.value(shape))
        for shape in d.params[2]
    ]
    values = [start.value(v) for v in d.params[3]]
    return _PaddedBatch(d.child_stage(0, start), size, bool(d.params[1]), shapes, values)


def _start_shuffle(d: DatasetDef, start: Start) -> Stage:
    size = _positive(d, start, "buffer size")
    reshuffle = bool(d.params[1])
    draws = start.draws.get(id(d)) if reshuffle else None
    if draws is None:
        draws = start.draws[id(d)] = _Draws(np.random.default_rng(d.seeds))
    return _Shuffle(d.child_stage(0, start), size, draws)


def _start_shard(d: DatasetDef, start: Start) -> Stage:
    num_shards, index = (int(start.value(p)) for p in d.params)
    if num_shards <= 0 or not 0 <= index < num_shards:
        raise InvalidArgumentError(
            f"shard needs 0 <= index < num_shards, got {index}, {num_shards}"
        )
    return _Shard(d.child_stage(0, start), num_shards, index)


_STARTS: dict[str, Callable[[DatasetDef, Start], Stage]] = {
    "slices": _start_slices,
    "tensors": _start_tensors,
    "range": _start_range,
    "zip": lambda d, s: _Zip([c.stage(s) for c in d.children]),
    "concatenate": _Concatenate,
    "unbatch": lambda d, s: _Unbatch(d.child_stage(0, s)),
    "cache": _Cache,
    "batch": _start_batch,
    "padded_batch": _start_padded_batch,
    "shuffle": _start_shuffle,
    "repeat": lambda d, s: _Repeat(d, s, _count(d, s)),
    "map": lambda d, s: _Map(d.child_stage(0, s), s.functions[id(d)]),
    "filter": lambda d, s: _Filter(d.child_stage(0, s), s.functions[id(d)]),
    "take": lambda d, s: _Take(d.child_stage(0, s), _count(d, s)),
    "skip": lambda d, s: _Skip(d.child_stage(0, s), _count(d, s)),
    "shard": _start_shard,
    "prefetch": lambda d, s: d.child_stage(0, s),
}


# -- the iterator as session state ---------------------------------------------------------
class IteratorState:
    """An iterator's position in one session (a store resource): the running pipeline."""

    def __init__(self) -> None:
        self.pipeline: Stage | None = None

    def snapshot(self) -> Any:
        pipeline = self.pipeline
        return pipeline, None if pipeline is None else pipeline.snapshot()

    def restore(self, state: Any) -> None:
        self.pipeline, saved = state
        if self.pipeline is not None:
            self.pipeline.restore(saved)


def _start(definition: DatasetDef, tensors: Sequence[Tensor], values: Sequence[Any], functions):
    known = {id(t): v for t, v in zip(tensors, values, strict=True)}
    return definition.stage(Start(known, functions))


class IteratorOp(Operation):
    """TF1's ``IteratorV2``: names an iterator whose state each session keeps; its value is
    the iterator's name (TF1's string handle). Built in the default graph."""

    op_type = "IteratorV2"
    pure = False
    changes_state = False
    alias_inputs = ()

    def __init__(self, specs: Sequence[Spec], name: str | None = None):
        self.specs = tuple(specs)
        super().__init__([], name=name or "Iterator")

    def infer(self) -> Spec:
        return (), string

    def state(self, context: Any) -> IteratorState:
        """This iterator's state in the session of ``context``."""
        return context.store.resource(self, IteratorState)

    def bind(self, context: Any) -> Callable[[], np.ndarray]:
        handle = np.array(self.name, dtype=object)
        return lambda: handle


class MakeIterator(Operation):
    """``iterator.initializer``: (re)starts the iterator on a data set, from the values its
    tensors have in this run (placeholders of the data set are fed here)."""

    op_type = "MakeIterator"
    is_update = True
    pure = False

    def __init__(self, definition: DatasetDef, iterator: IteratorOp, name: str | None = None):
        self.definition = definition
        self.iterator = iterator
        self.tensors = definition.tensors()
        super().__init__(self.tensors, name=name, control_inputs=[iterator])

    def writes(self) -> tuple[Node, ...]:
        return (self.iterator,)

    def bind(self, context: Any) -> Callable[..., None]:
        state = self.iterator.state(context)
        definition, tensors = self.definition, self.tensors
        functions = definition.compile(context)

        def make_iterator(*values: Any) -> None:
            state.pipeline = _start(definition, tensors, values, functions)

        return make_iterator


class IteratorGetNext(Operation):
    """The next element of an iterator, one output per component; ``OutOfRangeError`` at the
    end. A one-shot iterator (``definition`` given) starts itself on its first run."""

    op_type = "IteratorGetNext"
    pure = False
    alias_inputs = ()

    def __init__(
        self,
        iterator: IteratorOp,
        definition: DatasetDef | None = None,
        name: str | None = None,
    ):
        self.iterator = iterator
        self.definition = definition
        self.tensors = [] if definition is None else definition.tensors()
        super().__init__(self.tensors, name=name, control_inputs=[iterator])

    def infer(self, *tensors: Tensor) -> list[Spec]:
        return list(self.iterator.specs)

    def writes(self) -> tuple[Node, ...]:
        return (self.iterator,)

    def bind(self, context: Any) -> Callable[..., tuple]:
        state = self.iterator.state(context)
        definition, tensors = self.definition, self.tensors
        functions = None if definition is None else definition.compile(context)
        dtypes = [None if dtype is None else dtype.np for _, dtype in self.iterator.specs]

        def get_next(*values: Any) -> tuple:
            if state.pipeline is None:
                if definition is None:
                    raise FailedPreconditionError(
                        "the iterator has not been initialized: run iterator.initializer first",
                        self,
                    )
                state.pipeline = _start(definition, tensors, values, functions)
            element = state.pipeline.next()
            if element is None:
                raise OutOfRangeError("End of sequence: the iterator has no more elements", self)
            return tuple(_as_array(v, t) for v, t in zip(element, dtypes, strict=True))

        return get_next


def _as_array(value: Any, dtype: np.dtype | None) -> np.ndarray:
    """A fresh array of the component's dtype (nothing the pipeline holds is handed out)."""
    return np.array(value, dtype=dtype)


for _op in ("IteratorV2", "MakeIterator", "IteratorGetNext"):
    NotDifferentiable(_op)
