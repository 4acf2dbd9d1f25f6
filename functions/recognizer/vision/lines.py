"""Printed lines of ruled or squared paper, found and taken out of an ink map.

In: an ink map, float32 [H, W] in [0, 1]. Out: the same map without the printed lines, the
strokes that cross them kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recognizer.vision import ndimage as ndi
from recognizer.vision.resample import block_means
from recognizer.vision.strokes import INK_LEVEL, stroke_width
from recognizer.vision.tuning import DIGIT, LINES, PAPER


def _opened_along(values: np.ndarray, length: int, axis: int) -> np.ndarray:
    """Grey opening with a line of ``length`` along ``axis``: what survives is long there."""
    across = 1 - axis
    # A thin tilted line steps between rows, its ink split over two of them: add pairs of
    # rows back together, then let the line wander within LINES.drift rows.
    paired = ndi.uniform_filter1d(values, 2, axis=across, mode="nearest") * 2.0
    tolerant = ndi.maximum_filter1d(np.minimum(paired, 1.0), LINES.drift, axis=across, mode="nearest")
    eroded = ndi.minimum_filter1d(tolerant, length, axis=axis, mode="nearest")
    return ndi.maximum_filter1d(eroded, length, axis=axis, mode="nearest")


@dataclass(frozen=True)
class Lines:
    """Printed lines along one axis: how many cross the image, how thick they are (drift
    included), how dark (the faintest, in ink-map units), and the mask of every thin
    straight segment, crossing or not."""

    count: int
    thickness: float
    segments: np.ndarray
    level: float = 1.0


def _line_candidates(ink: np.ndarray, axis: int, fraction: int = 4) -> Lines:
    """Thin straight structures along ``axis`` (1: horizontal) at least 1/``fraction`` of the
    image long, and how many of them cross it. Faint ones count too: printed lines are often
    lighter than the ink."""
    along, across = ink.shape[axis], ink.shape[1 - axis]
    opened = _opened_along(ink, max(8, along // fraction), axis)
    candidates = opened >= LINES.level
    if not candidates.any():
        return Lines(0, 0.0, candidates)
    labels, count = ndi.label(candidates)
    thin = np.zeros(count + 1, dtype=bool)
    max_thickness = max(4.0, LINES.max_thickness * across) + LINES.drift + 1
    index = np.arange(1, count + 1)
    areas = ndi.sum_labels(candidates, labels, index=index)
    levels = ndi.sum_labels(opened, labels, index=index) / np.maximum(areas, 1)
    crossing, faintest = [], 1.0
    for label, piece in enumerate(ndi.find_objects(labels), start=1):
        assert piece is not None  # label numbers every component 1..count
        span = piece[axis].stop - piece[axis].start
        thickness = areas[label - 1] / span
        thin[label] = thickness <= max_thickness
        if thin[label] and span >= LINES.min_span * along:
            crossing.append(thickness)
            faintest = min(faintest, float(levels[label - 1]))
    thickness = float(np.median(crossing)) if crossing else 0.0
    return Lines(len(crossing), thickness, thin[labels], faintest)


def _may_hold_lines(ink: np.ndarray) -> bool:
    """Cheap test first: do two separate (slightly tilted) rows, or columns, of blocks run
    mostly through ink, or one faint one? One dark one alone may be a digit's stroke."""
    present = ink >= LINES.level
    blocks = block_means(present, PAPER.coarse_factor) > 0
    if blocks.shape[0] < 3 or blocks.shape[1] < 3:
        return False
    block = PAPER.coarse_factor if blocks.shape != present.shape else 1  # strips are not coarsened
    for axis in (0, 1):
        long = ndi.maximum_filter1d(blocks, 3, axis=axis).mean(axis=1 - axis) >= LINES.min_span
        runs = np.count_nonzero(np.diff(long.astype(np.int8)) == 1) + int(long[0])
        if runs >= 2:
            return True
        if runs == 1:
            band = np.zeros(ink.shape[axis], dtype=bool)
            band[: long.size * block] = np.repeat(long, block)
            strip = ink[band] if axis == 0 else ink[:, band]
            values = strip[strip >= LINES.level]
            if values.size and float(np.median(values)) < LINES.faint:
                return True
    return False


def _without_lines_along(ink: np.ndarray, lines: Lines, axis: int) -> np.ndarray:
    """Inside the lines' band keep only ink thicker across than the lines themselves: a grey
    opening across them removes the printed line but not a stroke crossing it, nor one
    running along it that is thicker than the line."""
    across = 1 - axis
    # The measured thickness includes the drift allowance and the row pairing.
    size = int(np.ceil(max(1.0, lines.thickness - LINES.drift))) + 1
    band = ndi.maximum_filter1d(lines.segments, LINES.drift, axis=across)
    thick = ndi.grey_opening(ink, size=(size, 1) if axis == 1 else (1, size), mode="constant")
    return np.where(band, np.minimum(ink, thick), ink)


def _touching_border(mask: np.ndarray) -> np.ndarray:
    """The connected parts of ``mask`` that touch the image's edge."""
    labels, count = ndi.label(mask)
    if count == 0:
        return mask
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return np.isin(labels, edge[edge > 0])


def _one_printed_line(ink: np.ndarray, *directions: Lines) -> bool:
    """A single line across (a margin, the one rule in a crop) is printed when it is much
    fainter than the ink, or much thinner than the strokes of the rest of the ink."""
    single = [lines for lines in directions if lines.count == 1]
    if any(lines.level < LINES.faint for lines in single):
        return True
    for lines in single:
        rest = (ink >= INK_LEVEL) & ~lines.segments
        if np.count_nonzero(rest) >= DIGIT.min_digit_area:
            width = max(1.0, lines.thickness - LINES.drift)  # the drift allowance widened it
            if width <= LINES.thin * stroke_width(rest.astype(np.float32)):
                return True
    return False


def remove_printed_lines(ink: np.ndarray) -> np.ndarray:
    """Take out ruled or squared paper's printed lines, keeping the strokes that cross them.

    Paper shows at least two parallel lines crossing the image, or one much fainter than the
    ink; a single long straight stroke (a "1", a "7"'s bar) does not make paper. On paper, in
    each direction that has a line across (a margin counts), every thin straight segment goes
    (lines broken by JPEG or fading too), as far as it is no thicker than the printed lines.
    Without printed lines, ``ink`` itself is returned (the same array).
    """
    if not _may_hold_lines(ink):
        return ink
    horizontal = _line_candidates(ink, axis=1)
    vertical = _line_candidates(ink, axis=0)
    if horizontal.count < 2 and vertical.count < 2 and not _one_printed_line(ink, horizontal, vertical):
        return ink
    cleaned = ink
    for lines, axis in ((horizontal, 1), (vertical, 0)):
        if lines.count:  # a direction with no line across the image has only strokes
            # On paper, shorter pieces at the frame's edge go too: lines the frame cuts.
            pieces = lines.segments | _touching_border(_line_candidates(ink, axis, fraction=8).segments)
            cleaned = _without_lines_along(cleaned, Lines(lines.count, lines.thickness, pieces), axis)
    return cleaned.astype(np.float32, copy=False)
