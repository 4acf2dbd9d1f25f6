"""Images enlarged pixel by pixel (nearest neighbour): a low-resolution scan blown up in blocks.

In: grey levels (float32 [H, W] in [0, 1]). Out: the block size the image was enlarged by
(1.0 when it was not), so that the caller can read it at its own resolution and enlarge it
smoothly instead: thresholding the blocks' staircase edges breaks thin strokes into dashes and
closes small loops.

A nearest-neighbour enlargement by ``f`` repeats each source column ``floor(f)`` or ``ceil(f)``
times, so the places where one column differs from the next are ``f`` apart (or a multiple of
``f`` where neighbouring source columns were alike), in rows and columns alike. Sensor noise and
antialiased edges make neighbouring columns of a photo or a drawing differ one pixel apart.
Hand-rolled: no imaging library says how an image was enlarged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from recognizer.vision.tuning import PIXELATION


def _segment_lengths(grey: np.ndarray, tolerance: float) -> np.ndarray:
    """Lengths of the runs of alike neighbouring columns of ``grey`` (axis 1)."""
    changes = np.abs(np.diff(grey, axis=1)).max(axis=0) > tolerance
    starts = np.flatnonzero(changes) + 1
    edges = np.concatenate(([0], starts, [grey.shape[1]]))
    return np.diff(edges)


def _block_size(lengths: np.ndarray) -> float | None:
    """The enlargement the run lengths show (None: not a nearest-neighbour enlargement)."""
    inner = lengths[1:-1]  # the first and last runs may be partial or merged with the margin
    if inner.size < PIXELATION.min_blocks:
        return None
    size = float(np.median(inner[inner <= np.percentile(inner, 25) + 1]))
    if size < PIXELATION.min_block:
        return None
    multiples = inner / size
    if np.any(np.abs(multiples - np.rint(multiples)) * size > 1.0 + 1e-6):
        return None
    return float(inner.sum() / np.rint(multiples).sum())


def block_size(grey: np.ndarray) -> float:
    """How many pixels each source pixel became, when ``grey`` was enlarged pixel by pixel by
    the same factor both ways (a block size of at least ``PIXELATION.min_block``); else 1.0."""
    spread = float(grey.max() - grey.min())
    if spread <= 0:
        return 1.0
    tolerance = PIXELATION.tolerance * spread  # JPEG ringing inside a block stays under this
    across = _block_size(_segment_lengths(grey, tolerance))
    down = _block_size(_segment_lengths(grey.T, tolerance))
    if across is None or down is None or abs(across - down) > 0.5:
        return 1.0
    return (across + down) / 2


def at_own_resolution(grey: Image.Image) -> Image.Image:
    """A grey (mode L) upload enlarged pixel by pixel, reduced to its source pixels; any other
    as it is (uploads over ``PIXELATION.max_side`` are not looked at)."""
    if max(grey.size) > PIXELATION.max_side:
        return grey
    block = block_size(np.asarray(grey, dtype=np.float32) / 255.0)
    if block <= 1.0:
        return grey
    size = (max(1, round(grey.size[0] / block)), max(1, round(grey.size[1] / block)))
    return grey.resize(size, Image.Resampling.BOX)


@dataclass(frozen=True)
class GreyUpload:
    """An upload in grey levels, and at its own resolution: worked out once, read twice
    (by the ink map and by the grey-level reading)."""

    grey: Image.Image  # mode L, the upload's size
    native: Image.Image  # ``at_own_resolution(grey)``


def grey_upload(image: Image.Image) -> GreyUpload:
    grey = image if image.mode == "L" else image.convert("L")
    return GreyUpload(grey, at_own_resolution(grey))
