"""Resampling float maps with Pillow: resizing, block means, fitting a digit to a box.

In: float32 arrays (ink or grey levels). Out: float32 arrays of the size asked for.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

PAIRWISE_BLOCK = 8  # NumPy adds runs of 8 values or more pairwise, shorter runs in order


def resize_float(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize a float32 map to ``size`` (width, height) with Pillow's bilinear filter."""
    resized = Image.fromarray(np.ascontiguousarray(values, dtype=np.float32), mode="F").resize(
        size, Image.Resampling.BILINEAR
    )
    return np.asarray(resized, dtype=np.float32)


def block_means(values: np.ndarray, f: int) -> np.ndarray:
    """Means over ``f`` x ``f`` blocks (noise averages out, thin strokes fade); a map smaller
    than one block is returned as it is."""
    height, width = values.shape
    h, w = max(1, height // f), max(1, width // f)
    if height < f or width < f:
        return values.copy()
    values = values[: h * f, : w * f]
    if f >= PAIRWISE_BLOCK or min(h, w) < 2 or values.dtype not in (np.float32, np.float64, np.bool_):
        return values.reshape(h, f, w, f).mean(axis=(1, 3))
    # The same sums as NumPy's mean over (1, 3), which adds fewer than PAIRWISE_BLOCK values
    # in order, one after the other (so the same bits), but over whole strided columns and
    # rows at a time instead of four values at a time.
    if values.dtype == np.bool_:
        values = values.astype(np.float64)
    columns = values[:, 0::f] + values[:, 1::f] if f > 1 else values.copy()
    for k in range(2, f):
        columns += values[:, k::f]
    sums = columns[0::f] + columns[1::f] if f > 1 else columns
    for k in range(2, f):
        sums += columns[k::f]
    return sums / (f * f)


def fit_longest_side(ink: np.ndarray, longest: int) -> np.ndarray:
    """Resize keeping the aspect ratio so the longest side is ``longest`` (area-averaged)."""
    height, width = ink.shape
    factor = longest / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    resample = Image.Resampling.BOX if factor < 1 else Image.Resampling.BILINEAR
    image = Image.fromarray(np.ascontiguousarray(ink, dtype=np.float32), mode="F")
    return np.asarray(image.resize(size, resample), dtype=np.float32)
