"""Order statistics and histograms of maps at the cost of the few values they depend on.

In: float arrays (ink or grey levels). Out: the same figures ``np.partition`` and
``np.histogram`` give over the whole array, computed from the part of it that decides them.
"""

from __future__ import annotations

import numpy as np

SAMPLE_STEP = 16  # every 16th value picks the threshold beyond which the extremes are looked for
SAMPLE_MARGIN = 4  # the threshold is taken at 4x the extremes' share of the sample, so it keeps them all


def _beyond_threshold(flat: np.ndarray, count: int, largest: bool) -> np.ndarray | None:
    """The values at or beyond a threshold that at least ``count`` of them reach (None when
    the sample's threshold keeps too few, or the array is too small to gain anything)."""
    if flat.size < SAMPLE_STEP * SAMPLE_MARGIN * count:
        return None
    sample = flat[::SAMPLE_STEP]
    rank = min(sample.size - 1, SAMPLE_MARGIN * count // SAMPLE_STEP)
    if largest:
        threshold = np.partition(sample, sample.size - 1 - rank)[sample.size - 1 - rank]
        chosen = flat[flat >= threshold]
    else:
        threshold = np.partition(sample, rank)[rank]
        chosen = flat[flat <= threshold]
    return chosen if chosen.size >= count else None


def extreme_mean(flat: np.ndarray, count: int, *, largest: bool) -> float:
    """The mean of the ``count`` largest (``largest``) or smallest values of a 1-D array: only
    the values beyond a threshold picked on a sample are partitioned, not every value."""
    values = _beyond_threshold(flat, count, largest)
    if values is None:
        values = flat
    if largest:
        return float(np.partition(values, values.size - count)[-count:].mean())
    return float(np.partition(values, count - 1)[:count].mean())


def unit_histogram(values: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.histogram(values, bins, range=(0, 1))`` for float values, without its general
    bin search: with a power-of-two number of bins, value x bins is exact in floating point, so
    its integer part is the bin (1.0 joins the last bin, as NumPy's rule has it)."""
    if bins & (bins - 1):
        raise ValueError("bins must be a power of two")
    flat = values.ravel()
    inside = (flat >= 0.0) & (flat <= 1.0)
    if not inside.all():
        flat = flat[inside]
    index = (flat * bins).astype(np.intp)
    np.minimum(index, bins - 1, out=index)
    return np.bincount(index, minlength=bins), np.linspace(0.0, 1.0, bins + 1)
