"""Timing shared by the benchmark scripts: sides that take turns, and peak memory."""

from __future__ import annotations

import gc
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any


def alternate(
    sides: dict[str, Callable[[], Any]], samples: int, inner: int = 1
) -> dict[str, float]:
    """Median seconds per call of each side.

    The sides take turns in a new random order for every sample (so that none always runs
    right after another's cache traffic); a sample times ``inner`` consecutive calls.
    """
    for fn in sides.values():  # warm up: plans compiled, caches filled
        for _ in range(max(3, inner)):
            fn()
    times: dict[str, list[float]] = {name: [] for name in sides}
    order = list(sides.items())
    shuffler = random.Random(0)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(samples):
            shuffler.shuffle(order)
            for name, fn in order:
                start = time.perf_counter()
                for _ in range(inner):
                    fn()
                times[name].append((time.perf_counter() - start) / inner)
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: statistics.median(values) for name, values in times.items()}


def peak_bytes(step: Callable[[], Any], runs: int = 5) -> int:
    """Median peak of traced allocations during one call, above what was held before it."""
    step()
    peaks = []
    tracemalloc.start()
    try:
        for _ in range(runs):
            gc.collect()
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            step()
            peaks.append(tracemalloc.get_traced_memory()[1] - before)
    finally:
        tracemalloc.stop()
    return int(statistics.median(peaks))


# -- the MLP --------------------------------------------------------------------------------------
