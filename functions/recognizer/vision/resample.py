"""Resampling float maps with Pillow: resizing, block means, fitting a digit to a box.

In: float32 arrays (ink or grey levels). Out: float32 arrays of the size asked for.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


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
    return values[: h * f, : w * f].reshape(h, f, w, f).mean(axis=(1, 3))


def fit_longest_side(ink: np.ndarray, longest: int) -> np.ndarray:
    """Resize keeping the aspect ratio so the longest side is ``longest`` (area-averaged)."""
    height, width = ink.shape
    factor = longest / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    resample = Image.Resampling.BOX if factor < 1 else Image.Resampling.BILINEAR
    image = Image.fromarray(np.ascontiguousarray(ink, dtype=np.float32), mode="F")
    return np.asarray(image.resize(size, resample), dtype=np.float32)
