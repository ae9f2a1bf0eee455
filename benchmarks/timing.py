"""What the benchmark scripts share: one BLAS thread count on every side, PyTorch if it is
there, sides that take turns, and peak memory. Imports no NumPy, so that a script can set its
BLAS threads with it before NumPy loads."""

from __future__ import annotations

import gc
import os
import random
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any


def pin_blas_threads(threads: int) -> None:
    """Every side's BLAS on ``threads`` threads: call it before NumPy is imported."""
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(threads)


def load_torch(threads: int, wanted: bool = True) -> Any:
    """PyTorch on ``threads`` threads, or ``None`` when it is left out or not installed."""
    if not wanted:
        return None
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is optional
        return None
    torch.set_num_threads(threads)
    return torch


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
