"""How noisy the paper is, and smoothing images too noisy for the rest to work on.

In: grey levels or ink-above-paper values, float32. Out: a noise level (full range = 1), or the
image smoothed.
"""

from __future__ import annotations

import numpy as np

from recognizer.vision import ndimage as ndi
from recognizer.vision.tuning import PAPER


def _pixel_noise(grey: np.ndarray) -> float:
    """Robust per-pixel noise: the spread of each pixel against its four neighbours' mean,
    on every other pixel (ink edges are few; noise is everywhere)."""
    centre = grey[1:-1:2, 1:-1:2]
    around = (grey[0:-2:2, 1:-1:2] + grey[2::2, 1:-1:2] + grey[1:-1:2, 0:-2:2] + grey[1:-1:2, 2::2]) / 4.0
    rows, cols = min(centre.shape[0], around.shape[0]), min(centre.shape[1], around.shape[1])
    if rows == 0 or cols == 0:
        return 0.0
    detail = (centre[:rows, :cols] - around[:rows, :cols]).ravel()
    return float(1.4826 * np.median(np.abs(detail - np.median(detail))) / 1.118)


def denoised(grey: np.ndarray) -> np.ndarray:
    """Very noisy images (dithered bilevel scans, heavy sensor noise) averaged over 3x3, then
    5x5, blocks until the noise is down to what the rest expects; others untouched."""
    for size in (3, 5):
        if _pixel_noise(grey) <= PAPER.noisy:
            break
        grey = ndi.uniform_filter(grey, size=size, mode="nearest")
    return grey


def noise_sigma(values: np.ndarray) -> float:
    """Robust standard deviation (median absolute deviation) of mostly-paper values."""
    sample = values[::2, ::2].ravel() if values.size > 4096 else values.ravel()
    centre = np.median(sample)
    return float(1.4826 * np.median(np.abs(sample - centre)))


def lower_tail_sigma(values: np.ndarray) -> float:
    """Standard deviation from the lower tail alone (2.5th to 25th percentile of a normal
    spread): the paper's noise in ink-above-paper values even when ink covers half the frame
    or more, where the median absolute deviation measures the ink instead."""
    sample = values[::2, ::2].ravel() if values.size > 4096 else values.ravel()
    low, high = np.percentile(sample, [2.5, 25.0])
    return float((high - low) / 1.2859)
