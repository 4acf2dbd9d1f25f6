"""The paper under the ink: background estimation that follows uneven light and shadows.

In: "bright ink" grey levels (ink brighter than paper), float32 [H, W]. Out: the paper's level
at every pixel, same shape; ``Paper`` keeps the coarse work shared between estimates.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from recognizer.vision import ndimage as ndi
from recognizer.vision.resample import block_means, resize_float
from recognizer.vision.tuning import PAPER


def background_window(coarse: np.ndarray) -> int:
    return max(3, int(round(PAPER.background_window * min(coarse.shape))) | 1)


@lru_cache(maxsize=32)
def _quadratic_basis(height: int, width: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    yy, xx = yy / max(height - 1, 1) - 0.5, xx / max(width - 1, 1) - 0.5
    basis = np.stack([np.ones_like(xx), xx, yy, xx * xx, xx * yy, yy * yy], axis=-1)
    basis.flags.writeable = False
    return basis


def _smooth_trend(coarse: np.ndarray) -> np.ndarray:
    """A quadratic surface under the paper (vignetting, a light falling off across the page),
    refitted to the pixels lowest above it, since the ink (bright here) sits above the paper.
    Fitted on every other coarse pixel each way: a smooth surface needs no more."""
    basis_grid = _quadratic_basis(*coarse.shape)
    basis = basis_grid[::2, ::2].reshape(-1, 6)
    values = coarse[::2, ::2].reshape(-1).astype(np.float64)
    use = np.ones(values.shape, dtype=bool)
    coefficients = np.zeros(6)
    for _ in range(3):
        if use.sum() < 12:
            break
        chosen = basis[use]  # least squares by normal equations: 6x6, no LAPACK threads
        gram = chosen.T @ chosen + 1e-6 * np.eye(6)
        coefficients = np.linalg.solve(gram, chosen.T @ values[use])
        residual = values - basis @ coefficients
        use = residual <= np.partition(residual, residual.size * 2 // 5)[residual.size * 2 // 5]
    return (basis_grid @ coefficients).astype(np.float32)


def _dilated_3x3(values: np.ndarray) -> np.ndarray:
    """3x3 grey dilation by shifted maxima (on small arrays, several times faster than SciPy's)."""
    rows = values.copy()
    np.maximum(rows[1:], values[:-1], out=rows[1:])
    np.maximum(rows[:-1], values[1:], out=rows[:-1])
    both = rows.copy()
    np.maximum(both[:, 1:], rows[:, :-1], out=both[:, 1:])
    np.maximum(both[:, :-1], rows[:, 1:], out=both[:, :-1])
    return both


def _reconstructed(marker: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Grey reconstruction by dilation: ``marker`` grown step by step under ``mask``. A
    shadow the opening kept in its body comes back whole, narrow tips and slivers included;
    ink the opening removed stays removed (nothing high is connected to it)."""
    current = np.minimum(marker, mask)
    for step in range(PAPER.reconstruction_steps):
        grown = np.minimum(_dilated_3x3(current), mask)
        if step % 4 == 3 and np.array_equal(grown, current):
            break
        current = grown
    return current


@dataclass(frozen=True)
class Paper:
    """What the background estimate needs, computed once per image at coarse scale."""

    coarse: np.ndarray
    trend: np.ndarray | None
    shape: tuple[int, int]


def paper_of(bright_ink: np.ndarray) -> Paper:
    coarse = block_means(bright_ink, PAPER.coarse_factor)
    trend = _smooth_trend(coarse) if min(coarse.shape) >= 8 else None
    return Paper(coarse, trend, bright_ink.shape)


def paper_levels(paper: Paper, window: int) -> np.ndarray:
    """The background at coarse scale (see ``estimate_background``)."""

    def opened(values: np.ndarray) -> np.ndarray:
        return ndi.uniform_filter(
            ndi.grey_opening(values, size=(window, window), mode="nearest"), size=max(3, window // 2), mode="nearest"
        )

    level = opened(paper.coarse)
    if paper.trend is not None:
        level = np.maximum(level, opened(paper.coarse - paper.trend) + paper.trend)
    return ndi.uniform_filter(_reconstructed(level, paper.coarse), size=3, mode="nearest")


def full_size(paper: Paper, levels: np.ndarray) -> np.ndarray:
    height, width = paper.shape
    return resize_float(levels, (width, height))


def estimate_background(bright_ink: np.ndarray, window: int | None = None) -> np.ndarray:
    """The paper under bright ink, following uneven light and shadows.

    At a quarter of the resolution, a grey opening removes strokes narrower than its window
    and keeps shadows; but near the frame's edges it flattens light that keeps falling off.
    The same opening after taking out a smooth quadratic trend does not. Both lie under the
    paper, so the higher of the two is the better estimate everywhere. Reconstruction then
    restores the parts of shadows narrower than the window. ``window``: the opening's side in
    coarse pixels (default: PAPER.background_window of the short side).
    """
    paper = paper_of(bright_ink)
    return full_size(paper, paper_levels(paper, window or background_window(paper.coarse)))


def has_shadows(paper: Paper, levels: np.ndarray) -> bool:
    """Does the paper found vary across the page more than a smooth trend explains?"""
    rest = levels - paper.trend if paper.trend is not None else levels
    low, high = np.percentile(rest, [2, 98])
    return bool(high - low > PAPER.shadow_step)
