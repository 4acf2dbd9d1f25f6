"""Polarity: is the ink darker than its paper or lighter?

In: grey levels float32 [H, W] in [0, 1]. Out: True for dark ink on light paper.
"""

from __future__ import annotations

import numpy as np

from recognizer.vision.noise import noise_sigma
from recognizer.vision.resample import resize_float
from recognizer.vision.statistics import extreme_mean, unit_histogram
from recognizer.vision.tuning import PAPER


def _tile_medians(grey: np.ndarray) -> np.ndarray:
    """The median of each of about PAPER.polarity_tiles x PAPER.polarity_tiles tiles, brought back to
    full size: the paper, wherever ink covers less than half a tile, whatever its polarity."""
    height, width = grey.shape
    # Never wider than the image: a strip only a few pixels thin has tiles that thin.
    tile = min(max(PAPER.min_polarity_tile, min(height, width) // PAPER.polarity_tiles), height, width)
    rows, cols = max(1, height // tile), max(1, width // tile)
    tiles = grey[: rows * tile, : cols * tile].reshape(rows, tile, cols, tile).transpose(0, 2, 1, 3)
    medians = np.median(tiles.reshape(rows, cols, tile * tile), axis=-1).astype(np.float32)
    return resize_float(medians, (width, height))


def _dark_by_local_paper(grey: np.ndarray) -> bool:
    """Vote 1: which tail departs further from the local paper (tile medians)?"""
    deviation = grey - _tile_medians(grey)
    floor = max(PAPER.noise_sigmas * noise_sigma(deviation), PAPER.min_contrast / 2)
    darker = np.maximum(-deviation - floor, 0.0).sum()
    lighter = np.maximum(deviation - floor, 0.0).sum()
    return bool(darker >= lighter)


def _dark_by_border(grey: np.ndarray) -> bool:
    """Vote 2: paper surrounds the digit, so the frame's border is paper. Is the most extreme
    ink (a few dozen pixels, enough for a small digit) darker or lighter than it?"""
    height, width = grey.shape
    ring = max(PAPER.min_border_ring, int(PAPER.border_ring * min(height, width)))
    border = np.concatenate(
        [grey[:ring].ravel(), grey[-ring:].ravel(), grey[:, :ring].ravel(), grey[:, -ring:].ravel()]
    )
    paper = float(np.median(border))
    flat = grey.ravel()
    count = max(PAPER.min_extreme, int(PAPER.extreme_share * flat.size))
    darkest, lightest = extreme_mean(flat, count, largest=False), extreme_mean(flat, count, largest=True)
    return bool(paper - darkest >= lightest - paper)


def _dark_by_minority(grey: np.ndarray) -> bool:
    """Vote 3: split the grey levels in two (Otsu); ink is the smaller class."""
    histogram, edges = unit_histogram(grey, PAPER.polarity_bins)
    weights = histogram / max(1, histogram.sum())
    centres = (edges[:-1] + edges[1:]) / 2
    below = np.cumsum(weights)
    mean_below = np.cumsum(weights * centres)
    between = (mean_below[-1] * below - mean_below) ** 2 / (below * (1 - below) + 1e-9)
    threshold = centres[int(np.argmax(between))]
    return bool((grey < threshold).mean() < PAPER.ink_minority)


def ink_is_dark(grey: np.ndarray) -> bool:
    """Polarity: dark ink on light paper (True) or light on dark (False), by majority of three
    votes that fail in different places (local paper: thick strokes filling a tile; border:
    a frame edge in shadow; minority: a digit covering half the image). A desk around the
    page fools the last two; ``ink_map`` checks the result for that."""
    votes = _dark_by_border(grey) + _dark_by_minority(grey)
    if votes != 1:
        return votes == 2
    return _dark_by_local_paper(grey)
