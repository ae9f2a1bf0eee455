"""The variable store: everything a session holds between runs.

Variables' arrays, and resources other than variables (per-op random generators today;
dataset iterators and metric counters are the same kind of thing). Ops, optimizers, the saver
and the plan read and write session state only through this interface.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

__all__ = ["VariableStore"]


class VariableStore:
    """Variables' current arrays and the session's other stateful resources, by node."""

    def __init__(self) -> None:
        self._values: dict[Any, np.ndarray] = {}
        self._resources: dict[Any, Any] = {}

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

    def reader(self, var: Any) -> Callable[[], np.ndarray]:
        """A function returning ``var``'s array at the time of each call (for plan kernels)."""
        values = self._values
        return lambda: values[var]

    def copies(self) -> dict[Any, np.ndarray]:
        """A copy of every variable's value."""
        return {var: array.copy() for var, array in self._values.items()}

    # -- other resources -----------------------------------------------------------------------
    def resource(self, owner: Any, make: Callable[[], Any]) -> Any:
        """The resource of ``owner`` (an op), made by ``make()`` on first use in this session."""
        found = self._resources.get(owner)
        if found is None:
            found = self._resources[owner] = make()
        return found

    def rng(self, owner: Any, seed: Any) -> np.random.Generator:
        """The random generator of a random op in this session (seeded per op, as TF1)."""
        return self.resource(owner, lambda: np.random.default_rng(seed))

    def clear(self) -> None:
        """Forget every value and resource (the session is closing)."""
        self._values.clear()
        self._resources.clear()
