"""What a tensor holds, in a few numbers: mean, spread, extremes, norm, zeros and a histogram.

A trace of a real network has matrices on every node; these statistics are how a table, a
picture or the explorer says something about them (a ReLU layer's fraction of zeros, a
gradient norm that vanishes layer by layer) without printing thousands of numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Stats", "tensor_stats", "sparkline", "HISTOGRAM_BINS"]

#: the number of bins of a tensor's histogram
HISTOGRAM_BINS = 16
_BARS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Stats:
    """Summary statistics of one tensor's numbers.

    ``mean``, ``std``, ``min``, ``max`` and ``norm`` (the L2 norm) are over every element, so a
    NaN or infinity shows in them; ``nonfinite`` counts those elements. ``histogram`` counts the
    finite elements in ``HISTOGRAM_BINS`` equal bins from ``min`` to ``max`` of the finite ones
    (``low``, ``high``). ``zero_fraction`` is the share of exact zeros (dead ReLU units).
    """

    size: int
    mean: float
    std: float
    min: float
    max: float
    norm: float
    zero_fraction: float
    nonfinite: int
    histogram: tuple[int, ...]
    low: float
    high: float

    @property
    def sparkline(self) -> str:
        """The histogram as a row of bars, one character per bin."""
        return sparkline(self.histogram)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready numbers (non-finite ones as "NaN", "Infinity", "-Infinity")."""
        return {
            "size": self.size,
            "mean": _json_float(self.mean),
            "std": _json_float(self.std),
            "min": _json_float(self.min),
            "max": _json_float(self.max),
            "norm": _json_float(self.norm),
            "zero_fraction": self.zero_fraction,
            "nonfinite": self.nonfinite,
            "histogram": list(self.histogram),
            "low": _json_float(self.low),
            "high": _json_float(self.high),
        }

    def __str__(self) -> str:
        text = (
            f"mean {self.mean:.4g}  std {self.std:.4g}  min {self.min:.4g}  max {self.max:.4g}  "
            f"norm {self.norm:.4g}  zeros {self.zero_fraction:.0%}  {self.sparkline}"
        )
        return text + (f"  ({self.nonfinite} NaN or infinite)" if self.nonfinite else "")


def tensor_stats(value: Any) -> Stats | None:
    """The statistics of a numeric value (a number or an array); ``None`` for anything else."""
    if value is None:
        return None
    array = np.asarray(value)
    if array.dtype.kind not in "biuf" or array.size == 0:
        return None
    numbers = array.astype(np.float64, copy=False).ravel()
    finite = numbers[np.isfinite(numbers)]
    with np.errstate(all="ignore"):
        mean = float(numbers.mean())
        std = float(numbers.std())
        norm = float(np.sqrt(np.sum(numbers * numbers)))
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (math.nan,) * 2
    return Stats(
        size=int(numbers.size),
        mean=mean,
        std=std,
        min=float(numbers.min()),
        max=float(numbers.max()),
        norm=norm,
        zero_fraction=float(np.count_nonzero(numbers == 0) / numbers.size),
        nonfinite=int(numbers.size - finite.size),
        histogram=_histogram(finite, low, high),
        low=low,
        high=high,
    )


def _histogram(finite: np.ndarray, low: float, high: float) -> tuple[int, ...]:
    if finite.size == 0:
        return (0,) * HISTOGRAM_BINS
    if low == high:
        counts = [0] * HISTOGRAM_BINS
        counts[HISTOGRAM_BINS // 2] = int(finite.size)
        return tuple(counts)
    counts, _ = np.histogram(finite, bins=HISTOGRAM_BINS, range=(low, high))
    return tuple(int(c) for c in counts)


def sparkline(counts: tuple[int, ...] | list[int]) -> str:
    """Counts as bars: an empty bin is a space, the fullest one a full block."""
    top = max(counts, default=0)
    if top == 0:
        return " " * len(counts)
    return "".join(
        " " if c == 0 else _BARS[min(len(_BARS) - 1, (c * len(_BARS) - 1) // top)] for c in counts
    )


def _json_float(value: float) -> float | str:
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
