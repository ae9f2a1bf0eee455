"""The variable store: everything a session holds between runs.

Variables' arrays, and resources other than variables (per-op random generators today;
dataset iterators and metric counters are the same kind of thing). Ops, optimizers, the saver
and the plan read and write session state only through this interface.

A run that may fail after changing state opens a *journal* (``begin``): before each first
change of a variable or resource, the run calls ``keep``, which remembers its state; ``rollback``
puts everything kept back, ``commit`` forgets it (or hands it to the enclosing journal, so
that a nested run is undone with the run around it). Resources take part through the
``Resource`` protocol (random generators are supported as they are).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

import numpy as np

__all__ = ["VariableStore", "Journal", "Resource"]


class Resource(Protocol):
    """A stateful object a session holds for an op (an iterator, a counter).

    ``snapshot`` returns whatever ``restore`` needs to put the resource back as it was, so
    that a failed run leaves it unchanged.
    """

    def snapshot(self) -> Any: ...

    def restore(self, state: Any) -> None: ...


#: a kept owner that held nothing before the run (an uninitialised variable)
_ABSENT = object()
_VARIABLE, _GENERATOR, _RESOURCE = "variable", "generator", "resource"


class Journal:
    """What a run changed, as it was before: ``{owner: saved state}``, first change only."""

    __slots__ = ("saved",)

    def __init__(self) -> None:
        self.saved: dict[Any, Any] = {}


class VariableStore:
    """Variables' current arrays and the session's other stateful resources, by node.

    ``lock`` serialises everything that reads or writes the store: runs, loads, restores.
    """

    def __init__(self) -> None:
        self._values: dict[Any, np.ndarray] = {}
        self._resources: dict[Any, Any] = {}
        self._journals: list[Journal] = []
        self.lock = threading.RLock()

    # -- variables -----------------------------------------------------------------------------
    def __contains__(self, var: Any) -> bool:
        return var in self._values

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def get(self, var: Any) -> np.ndarray | None:
        """The array ``var`` holds now (the live one: update kernels change it in place)."""
        return self._values.get(var)

    def set(self, var: Any, value: np.ndarray) -> None:
        """Make ``value`` the array ``var`` holds (the caller hands it over: no copy)."""
        self._values[var] = value

    def load(self, var: Any, value: np.ndarray) -> None:
        """Put ``value`` into ``var``'s existing array when it fits, else hold ``value`` itself."""
        current = self._values.get(var)
        if current is not None and current.shape == value.shape and current.dtype == value.dtype:
            np.copyto(current, value)
        else:
            self._values[var] = value

    def load_all(self, values: dict[Any, np.ndarray]) -> None:
        """Load every ``{variable: value}`` or, if any load fails, none of them."""
        with self.lock:
            journal = self.begin()
            try:
                for var, value in values.items():
                    self.keep((var,))
                    self.load(var, value)
            except BaseException:
                self.rollback(journal)
                raise
            self.commit(journal)

    def reader(self, var: Any) -> Callable[[], np.ndarray]:
        """A function returning ``var``'s array at the time of each call (for plan kernels)."""
        values = self._values
        return lambda: values[var]

    def copies(self) -> dict[Any, np.ndarray]:
        """A copy of every variable's value."""
        return {var: array.copy() for var, array in self._values.items()}

    # -- other resources -----------------------------------------------------------------------
    def resource(self, owner: Any, make: Callable[[], Any]) -> Any:
        """The resource of ``owner`` (an op), made by ``make()`` on first use in this session.

        A resource that an op changes (its ``writes()`` names the op) implements ``Resource``.
        """
        found = self._resources.get(owner)
        if found is None:
            found = self._resources[owner] = make()
        return found

    def rng(self, owner: Any, seed: Any) -> np.random.Generator:
        """The random generator of a random op in this session (seeded per op, as TF1)."""
        return self.resource(owner, lambda: np.random.default_rng(seed))

    # -- journals: runs that change nothing when they fail -------------------------------------
    def begin(self) -> Journal:
        """Open a journal: until it is closed, ``keep`` records into it."""
        journal = Journal()
        self._journals.append(journal)
        return journal

    @property
    def journaling(self) -> bool:
        """Whether a journal is open (a run that may still be undone is in progress)."""
        return bool(self._journals)

    def keep(self, owners: Iterable[Any]) -> None:
        """Remember the state of ``owners`` (variables or resource owners) before a change.

        Only the first change in the innermost open journal counts; without one, nothing is kept.
        """
        if not self._journals:
            return
        saved = self._journals[-1].saved
        for owner in owners:
            if owner not in saved:
                saved[owner] = self._state_of(owner)

    def commit(self, journal: Journal) -> None:
        """Close ``journal``, keeping its changes; an enclosing journal takes over its entries."""
        self._close(journal)
        if self._journals:
            outer = self._journals[-1].saved
            for owner, state in journal.saved.items():
                outer.setdefault(owner, state)

    def rollback(self, journal: Journal) -> None:
        """Close ``journal`` and put every owner it kept back as it was."""
        self._close(journal)
        for owner, state in journal.saved.items():
            self._put_back(owner, state)

    def _close(self, journal: Journal) -> None:
        if not self._journals or self._journals[-1] is not journal:
            raise RuntimeError("journals close in the reverse order of opening")
        self._journals.pop()

    def _state_of(self, owner: Any) -> Any:
        value = self._values.get(owner)
        if value is not None:
            return (_VARIABLE, value.copy())
        resource = self._resources.get(owner)
        if resource is None:
            return _ABSENT
        if isinstance(resource, np.random.Generator):
            return (_GENERATOR, resource.bit_generator.state)
        return (_RESOURCE, resource.snapshot())

    def _put_back(self, owner: Any, saved: Any) -> None:
        if saved is _ABSENT:
            self._values.pop(owner, None)
            return
        kind, state = saved
        if kind is _VARIABLE:
            self.load(owner, state)
        elif kind is _GENERATOR:
            self._resources[owner].bit_generator.state = state
        else:
            self._resources[owner].restore(state)

    def clear(self) -> None:
        """Forget every value, resource and open journal (the session is closing)."""
        self._values.clear()
        self._resources.clear()
        self._journals.clear()
