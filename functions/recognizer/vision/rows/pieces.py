"""A row's ink as pieces, each believed to be one digit or a clump of touching digits.

In: a row's ink map, float32 [H, W] in [0, 1]. Out: ``Group``s (a box in the map and which of
its pixels count), left to right: specks dropped (unless close to other ink: a dotted pencil
line); pieces of one digit joined (pieces sharing most of their columns, such as a "4" drawn in
two strokes; pieces much shorter than the row's digits, such as a "5"'s detached bar); marks
off the row's centre line dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recognizer.vision import ndimage as ndi
from recognizer.vision.components import ink_components
from recognizer.vision.geometry import Box
from recognizer.vision.rows.tuning import CUTS, PIECES


@dataclass(frozen=True)
class Group:
    """Ink believed to be one digit: a box in the working map and which of its pixels count."""

    box: Box
    mask: np.ndarray  # bool [h, w]: the group's pixels inside its box
    read_as: np.ndarray | None = None  # float64 [10]: the whole-row reader's reading of it, if any
    clump: int | None = None  # the piece of ink it was cut from, when that held several digits
    unread: bool = False  # the whole-row reader, sure of the row's digits, reads none in it: a mark

    @property
    def area(self) -> int:
        return int(self.mask.sum())

    @property
    def centre_x(self) -> float:
        return self.box.centre_x

    @property
    def centre_y(self) -> float:
        return self.box.centre_y


def _paste(mask: np.ndarray, box: Box, into: Box) -> np.ndarray:
    """``mask`` (covering ``box``) placed inside a bigger all-False mask covering ``into``."""
    out = np.zeros((into.h, into.w), dtype=bool)
    dx, dy = box.x - into.x, box.y - into.y
    out[dy : dy + box.h, dx : dx + box.w] = mask
    return out


def merged(a: Group, b: Group) -> Group:
    box = a.box.union(b.box)
    return Group(box, _paste(a.mask, a.box, box) | _paste(b.mask, b.box, box))


def row_height(groups: Sequence[Group]) -> float:
    """The digits' height: the median of the groups at least half as tall as the tallest."""
    heights = np.array([g.box.h for g in groups], dtype=np.float64)
    return float(np.median(heights[heights >= PIECES.tall_group * heights.max()]))


def components_as_groups(ink: np.ndarray) -> list[Group]:
    labels, components = ink_components(ink)
    groups = []
    for component in components:
        x, y, w, h = component.box
        groups.append(Group(component.box, labels[y : y + h, x : x + w] == component.label))
    return groups


def drop_specks(groups: list[Group]) -> list[Group]:
    """Dust, pepper noise, JPEG blocks: pieces tiny against both the largest piece and the
    tallest, and alone (a dotted pencil line's dots lie close to one another: they stay)."""
    if not groups:
        return groups
    largest = max(g.area for g in groups)
    tallest = max(g.box.h for g in groups)
    tiny = np.array([g.area < PIECES.speck * largest and g.box.h < PIECES.speck_height * tallest for g in groups])
    if not tiny.any():
        return groups
    boxes = np.array([g.box for g in groups], dtype=np.float64)
    left, top = boxes[:, 0], boxes[:, 1]
    right, bottom = left + boxes[:, 2], top + boxes[:, 3]
    gap_x = np.maximum(0.0, np.maximum(left[:, None], left[None]) - np.minimum(right[:, None], right[None]))
    gap_y = np.maximum(0.0, np.maximum(top[:, None], top[None]) - np.minimum(bottom[:, None], bottom[None]))
    distance = np.hypot(gap_x, gap_y)
    np.fill_diagonal(distance, np.inf)
    alone = distance.min(axis=1) > PIECES.speck_neighbour * tallest
    return [g for g, drop in zip(groups, tiny & alone, strict=True) if not drop]


def join_overlapping(groups: list[Group]) -> list[Group]:
    """Join pieces that share most of their columns and lie close above or below each other
    (a "4" or "5" drawn in two strokes, a "7" broken at its corner), staying digit-wide."""
    groups = sorted(groups, key=lambda g: g.box.x)
    height = row_height(groups) if groups else 0.0
    joined = True
    while joined and len(groups) > 1:
        joined = False
        for i, a in enumerate(groups):
            for j in range(i + 1, len(groups)):
                b = groups[j]
                if b.box.x >= a.box.right:
                    break  # sorted by left edge: nothing further right shares a column
                overlap = a.box.column_overlap(b.box)
                if overlap < PIECES.merge_overlap:
                    continue
                if min(a.box.h, b.box.h) >= PIECES.stroke_height * height and overlap < PIECES.merge_tall_overlap:
                    continue  # two tall strokes side by side: a "1" leaning into its neighbour
                if a.box.gap(b.box)[1] > PIECES.merge_vertical_gap * height:
                    continue
                if a.box.union(b.box).w > PIECES.max_digit_width * height:
                    continue  # two digits, one above the other's edge: a cut may part them later
                groups[i] = merged(a, b)
                del groups[j]
                joined = True
                break
            if joined:
                break
    return groups


def join_near_touching(groups: list[Group]) -> list[Group]:
    """A thin stroke, shorter than its neighbour and a hairline from it (a stroke broken off by
    the scan), joins it as one clump, for the cutting below to part again if it should."""
    if len(groups) < 2:
        return groups
    height = row_height(groups)
    near = max(PIECES.min_near_gap, PIECES.near_gap * height)
    groups = sorted(groups, key=lambda g: g.box.x)
    joined = [groups[0]]
    for group in groups[1:]:
        last = joined[-1]
        gap_x, gap_y = last.box.gap(group.box)
        shared = min(last.box.bottom, group.box.bottom) - max(last.box.y, group.box.y)
        thin, other = (last, group) if last.box.w <= group.box.w else (group, last)
        sliver = thin.box.w < PIECES.thin * height and thin.box.h <= PIECES.thin_height * other.box.h
        if gap_x <= near and gap_y == 0 and sliver and shared >= PIECES.thin_shared * thin.box.h:
            joined[-1] = merged(last, group)
        else:
            joined.append(group)
    return joined


def attach_fragments(groups: list[Group]) -> list[Group]:
    """Pieces much shorter than the row's digits (a detached bar, a dot of a dotted line) join
    the nearest digit when one is close enough; otherwise they are stray marks and go."""
    if not groups:
        return groups
    height = row_height(groups)
    typical_area = float(np.median([g.area for g in groups if g.box.h >= PIECES.stroke_height * height] or [0]))

    def is_fragment(group: Group) -> bool:
        short = group.box.h < PIECES.fragment_height * height
        slight = group.box.h < PIECES.stroke_height * height and group.area < PIECES.fragment_area * typical_area
        return short or slight

    digits = [g for g in groups if not is_fragment(g)]
    fragments = sorted((g for g in groups if is_fragment(g)), key=lambda g: -g.area)
    for fragment in fragments:
        best, best_distance = None, PIECES.fragment_reach * height
        for index, digit in enumerate(digits):
            gap_x, gap_y = fragment.box.gap(digit.box)
            distance = float(np.hypot(gap_x, gap_y))
            if distance <= best_distance and fragment.box.union(digit.box).w <= PIECES.max_fragment_width * height:
                best, best_distance = index, distance
        if best is not None:
            digits[best] = merged(digits[best], fragment)
    return sorted(digits, key=lambda g: g.box.x)


def keep_row(groups: list[Group]) -> list[Group]:
    """The digits whose centres lie on the row's centre line (not marks above or below it)."""
    if not groups:
        return groups
    height = row_height(groups)
    centre = float(np.median([g.centre_y for g in groups if g.box.h >= PIECES.centre_line_from * height]))
    return [g for g in groups if abs(g.centre_y - centre) <= PIECES.row_band * height]


def row_groups(ink: np.ndarray) -> list[Group]:
    """The row's pieces of ink as digits or clumps of touching digits, left to right."""
    pieces = join_overlapping(drop_specks(components_as_groups(ink)))
    return keep_row(attach_fragments(join_near_touching(pieces)))


def crop_ink(ink: np.ndarray, group: Group) -> np.ndarray:
    """The group's ink, with a 1 px fringe of its soft edges, nothing of its neighbours."""
    x, y, w, h = group.box
    left, top = max(0, x - 1), max(0, y - 1)
    right, bottom = min(ink.shape[1], x + w + 1), min(ink.shape[0], y + h + 1)
    box = Box(left, top, right - left, bottom - top)
    keep = ndi.binary_dilation(_paste(group.mask, group.box, box), structure=np.ones((3, 3), dtype=bool))
    return np.where(keep, ink[top:bottom, left:right], 0.0).astype(np.float32)


def kept_ink(shape: tuple[int, int], groups: Sequence[Group]) -> np.ndarray:
    """Where the row's pieces lie (with a 1 px fringe for their soft edges), as one mask."""
    keep = np.zeros(shape, dtype=bool)
    for group in groups:
        x, y, w, h = group.box
        keep[y : y + h, x : x + w] |= group.mask
    return ndi.binary_dilation(keep, structure=np.ones((3, 3), dtype=bool))


def typical_width(groups: Sequence[Group], height: float) -> float:
    """A digit's width in this row: the median of the groups that look like one digit ("1"s,
    being narrow, and pieces wide enough to be several, left out)."""
    narrowest = CUTS.single_from * height
    single = [g.box.w for g in groups if narrowest <= g.box.w <= CUTS.split_from * height]
    if single:
        low, high = CUTS.typical_range
        return float(np.clip(np.median(single), low * height, high * height))
    return CUTS.typical_width * height


def may_hold_several(group: Group, height: float) -> bool:
    """Only pieces as wide as two narrow digits are worth cutting ("11" is the narrowest)."""
    return group.box.w > CUTS.split_from * height or group.box.w > CUTS.split_aspect * group.box.h
