"""Where touching digits may be parted: least-ink paths from top to bottom, and the parts
between them.

In: one piece of ink (a ``Group``) and the row's height. Out: candidate cuts (a column per row,
and the ink each crosses) and ``CandidateParts``, every digit-sized stretch between two of them.
Cuts start from the piece's thinnest columns and from evenly spaced ones, so that digits that
overlap with no thin column between them can still be parted along a path through the overlap.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from recognizer.errors import NoDigitFound
from recognizer.vision import ndimage as ndi
from recognizer.vision.digit import MNIST_BOX, MNIST_SIDE, STROKE_SCALE, crop_to_ink, place_like_mnist
from recognizer.vision.geometry import Box
from recognizer.vision.resample import fit_longest_side
from recognizer.vision.rows.pieces import Group
from recognizer.vision.rows.tuning import CUTS
from recognizer.vision.strokes import INK_LEVEL, match_mnist_strokes, stroke_width


def stroke_px(mask: np.ndarray) -> float:
    """Typical stroke width of a mask, in pixels (at least 1)."""
    return max(1.0, stroke_width(mask.astype(np.float32)))


def normalize_part(ink: np.ndarray, stroke: float) -> np.ndarray:
    """``normalize_digit`` for a candidate part whose stroke width (``stroke`` pixels of
    ``ink``) is known from its whole piece: measuring it again for each of dozens of parts
    would cost most of the time a row takes. A part too faint to crop reads as nothing (a
    blank input), never as the whole row's "no digit"."""
    try:
        digit = crop_to_ink(np.asarray(ink, dtype=np.float32))
    except NoDigitFound:  # a sliver of a piece's soft edge, fainter than the crop's level
        return np.zeros((MNIST_SIDE, MNIST_SIDE), dtype=np.float32)
    box = MNIST_BOX * STROKE_SCALE
    width = stroke * box / max(digit.shape)
    digit = fit_longest_side(digit, box)
    matched = match_mnist_strokes(digit, width)
    if (matched >= INK_LEVEL).any():  # a part thinner than its piece's strokes stays as it is
        digit = matched
    try:
        return place_like_mnist(fit_longest_side(crop_to_ink(digit), MNIST_BOX))
    except NoDigitFound:  # a hairline part that resampling faded away: nothing to read
        return np.zeros((MNIST_SIDE, MNIST_SIDE), dtype=np.float32)


def seam_near(mask: np.ndarray, centre: int, band: int) -> tuple[np.ndarray, float]:
    """The path from top to bottom within ``band`` columns of ``centre`` that crosses the
    least ink (one column per row, at most one column sideways per row), and that ink in
    pixels. Touching digits lean; a path may lean with them where a straight cut cannot."""
    height, width = mask.shape
    low, high = max(0, centre - band), min(width, centre + band + 1)
    columns = np.arange(low, high)
    energy = mask[:, low:high].astype(np.float64) + CUTS.seam_step * np.abs(columns - centre) / max(1, band)
    cost = energy[0].copy()
    moves = np.zeros((height, high - low), dtype=np.int8)
    from_left, from_right = np.full_like(cost, np.inf), np.full_like(cost, np.inf)
    for row in range(1, height):
        from_left[1:] = cost[:-1] + CUTS.seam_step
        from_right[:-1] = cost[1:] + CUTS.seam_step
        best = np.minimum(cost, np.minimum(from_left, from_right))
        moves[row] = np.where(best == cost, 0, np.where(best == from_left, -1, 1))
        cost = energy[row] + best
    path = np.empty(height, dtype=np.int64)
    path[-1] = int(np.argmin(cost))
    for row in range(height - 1, 0, -1):
        path[row - 1] = path[row] + moves[row, path[row]]
    path += low
    return path, float(mask[np.arange(height), path].sum())


def candidate_cuts(group: Group, height: float) -> list[tuple[np.ndarray, float]]:
    """Paths through the piece crossing little ink, started from its thinnest columns (local
    minima of ink per column) and from evenly spaced ones: each a column per row, and the ink
    it crosses in pixels."""
    profile = ndi.uniform_filter1d(group.mask.sum(axis=0).astype(np.float64), 3, mode="nearest")
    width = len(profile)
    margin = max(1, int(CUTS.min_part * height))
    inner = np.arange(margin, width - margin)
    if inner.size == 0:
        return []
    left = np.concatenate(([np.inf], profile[:-1]))
    right = np.concatenate((profile[1:], [np.inf]))
    minima = inner[(profile[inner] <= left[inner]) & (profile[inner] <= right[inner])]
    # Plateaus give runs of equal minima: keep one column per run (its middle).
    runs = np.split(minima, np.flatnonzero(np.diff(minima) > 1) + 1) if minima.size else []
    columns = sorted((int(run[len(run) // 2]) for run in runs if run.size), key=lambda c: profile[c])[: CUTS.max_cuts]
    # Overlapping digits leave no thin column where they meet: paths from evenly spaced
    # columns too, wherever no thin column lies near.
    step = max(2.0, CUTS.cut_grid * height)
    for column in np.round(np.arange(margin, width - margin, step)).astype(int).tolist():
        if all(abs(column - other) >= step / 2 for other in columns):
            columns.append(column)
    band = max(1, int(CUTS.seam_band * height))
    seams: list[tuple[np.ndarray, float]] = []
    for column in columns:
        path, crossed = seam_near(group.mask, column, band)
        if all(np.abs(path - other).mean() >= 2.0 for other, _ in seams):
            seams.append((path, crossed))
    return sorted(seams, key=lambda seam: float(seam[0].mean()))


def _without_slivers(group: Group) -> Group | None:
    """A cut part without the bits of its neighbour that the straight cut left in it."""
    labels, count = ndi.label(group.mask, structure=np.ones((3, 3), dtype=bool))
    if count == 0:
        return None
    sizes = ndi.sum_labels(group.mask, labels, np.arange(1, count + 1))
    keep = np.isin(labels, 1 + np.flatnonzero(sizes >= CUTS.sliver * sizes.max()))
    rows, cols = np.flatnonzero(keep.any(axis=1)), np.flatnonzero(keep.any(axis=0))
    x, y, _, _ = group.box
    box = Box(x + int(cols[0]), y + int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1))
    return Group(box, keep[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])


def part_between(group: Group, left: np.ndarray, right: np.ndarray) -> Group | None:
    """The piece's ink from path ``left`` (included) to path ``right`` (excluded)."""
    columns = np.arange(group.box.w)
    inside = (columns >= left[:, None]) & (columns < right[:, None])
    return _without_slivers(Group(group.box, group.mask & inside))


@dataclass(frozen=True)
class CandidateParts:
    """A piece's bounds (its two ends and the candidate cuts between them) and the
    digit-sized parts between pairs of bounds; the first part is the whole piece."""

    bounds: list[float]  # mean column of each bound, ascending (first 0, last the width)
    crossed: list[float]  # ink pixels each bound's path crosses
    keys: list[tuple[int, int]]  # (i, j): the part from bound i to bound j; keys[0] the whole
    parts: list[Group]


def candidate_parts(group: Group, height: float, widest: float | None = None) -> CandidateParts:
    """Every stretch between two bounds that is digit-sized is a possible part (by shape
    alone: which of them are digits is for the model and the probe to say). ``widest``: the
    widest part allowed (default CUTS.max_part of the height)."""
    width, rows = group.box.w, group.box.h
    seams = candidate_cuts(group, height)
    paths = [np.zeros(rows, dtype=np.int64), *(path for path, _ in seams), np.full(rows, width, dtype=np.int64)]
    crossed = [0.0, *(ink_crossed for _, ink_crossed in seams), 0.0]
    bounds = [float(path.mean()) for path in paths]
    low, high = CUTS.min_part * height, CUTS.max_part * height if widest is None else widest
    whole = (0, len(paths) - 1)
    keys, parts = [whole], [group]
    for i in range(len(paths)):
        for j in range(i + 1, len(paths)):
            if (i, j) != whole and low <= bounds[j] - bounds[i] <= high:
                part = part_between(group, paths[i], paths[j])
                if part is not None and part.box.h >= CUTS.min_part_height * height:
                    keys.append((i, j))
                    parts.append(part)
    return CandidateParts(bounds, crossed, keys, parts)


def parts_at(group: Group, columns: list[float], band: int, height: float) -> list[Group] | None:
    """The piece cut within ``band`` columns of each of ``columns`` (the piece's own, ascending)
    by the path that crosses the least ink there: for where the whole-row reader read its
    digits (its alignment, not the piece's shape, says where they meet). None when a part comes
    out empty, or narrower than CUTS.min_part of the row's ``height``."""
    rows, width = group.box.h, group.box.w
    paths = [np.zeros(rows, dtype=np.int64)]
    for column in columns:
        centre = int(np.clip(round(column), 1, width - 1))
        path, _ = seam_near(group.mask, centre, band)
        paths.append(np.maximum(path, paths[-1]))  # the cuts never cross
    paths.append(np.full(rows, width, dtype=np.int64))
    if min(float((right - left).mean()) for left, right in itertools.pairwise(paths)) < CUTS.min_part * height:
        return None
    parts = [part_between(group, left, right) for left, right in itertools.pairwise(paths)]
    return None if any(part is None for part in parts) else [part for part in parts if part is not None]
