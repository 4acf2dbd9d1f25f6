"""Stroke width: measuring it, and bringing strokes to MNIST's range of widths.

In: an ink map or crop, float32 in [0, 1] (1 = ink). Out: a width in pixels, or the ink with its
strokes thickened or slimmed.
"""

from __future__ import annotations

import numpy as np

from recognizer.vision import ndimage as ndi
from recognizer.vision.ndimage_labels import squared_distances_to_background

INK_LEVEL = 0.5  # an ink-map value from which a pixel counts as ink
MNIST_STROKE = (0.10, 0.20)  # MNIST stroke widths relative to the 20 px box (10th-90th pct)


def stroke_width(ink: np.ndarray) -> float:
    """Typical stroke width in pixels: twice the distance-to-paper along the strokes' ridges."""
    mask = ink >= INK_LEVEL
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return 0.0
    # Paper beyond the ink's box adds nothing: its ring of paper holds every nearest paper
    # pixel, and ridges compare alike on squared distances.
    framed = np.pad(mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], 1)
    squared = squared_distances_to_background(framed)
    ridge = framed & (squared >= ndi.maximum_filter(squared, size=3))
    return float(2.0 * np.median(np.sqrt(squared[ridge].astype(np.float64))))


def thickened(ink: np.ndarray, radius: float) -> np.ndarray:
    """Strokes grown by ``radius`` pixels on every side, with a soft edge (within the crop)."""
    outside = ndi.distance_transform_edt(~(ink >= INK_LEVEL))
    grown = np.clip(radius + 0.5 - outside, 0.0, 1.0)
    return np.maximum(ink, grown).astype(np.float32)


def slimmed(ink: np.ndarray, radius: float) -> np.ndarray:
    """Strokes worn down by ``radius`` pixels on every side, with a soft edge."""
    inside = ndi.distance_transform_edt(np.pad(ink >= INK_LEVEL, 1))[1:-1, 1:-1]
    return np.minimum(ink, np.clip(inside - radius, 0.0, 1.0)).astype(np.float32)


def match_mnist_strokes(ink: np.ndarray, width: float | None = None) -> np.ndarray:
    """Thicken hairlines and slim heavy marker strokes into MNIST's range of stroke widths.

    ``width``: the strokes' width in pixels of ``ink`` when it is known already (else measured).
    """
    box = max(ink.shape)
    width = stroke_width(ink) if width is None else width
    low, high = MNIST_STROKE[0] * box, MNIST_STROKE[1] * box
    if width < low:
        return thickened(ink, (low - width) / 2.0)
    if width > high:
        return slimmed(ink, (width - high) / 2.0)
    return ink
