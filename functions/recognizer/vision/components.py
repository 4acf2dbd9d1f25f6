"""Connected pieces of ink, and the one digit among them in an image that holds one.

In: an ink map, float32 [H, W] in [0, 1]. Out: ``Component``s (boxes in the map's pixels), and
for ``select_digit`` the digit's ink crop and box.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recognizer.errors import NoDigitFound
from recognizer.vision import ndimage as ndi
from recognizer.vision.geometry import Box
from recognizer.vision.strokes import INK_LEVEL
from recognizer.vision.tuning import DIGIT

FAINT_INK_LEVEL = DIGIT.faint_ink  # faint ink still joins the pieces it touches


@dataclass(frozen=True)
class Component:
    """One connected piece of ink in an ink map."""

    label: int
    box: Box  # in working pixels
    area: int  # pixels at or above INK_LEVEL
    mass: float  # sum of ink
    touches_border: bool

    @property
    def centre(self) -> tuple[float, float]:
        x, y, w, h = self.box
        return x + w / 2.0, y + h / 2.0


@dataclass(frozen=True)
class Digit:
    """The ink of one digit cut out of an ink map."""

    ink: np.ndarray  # float32 crop, only the digit's components
    box: Box  # in the ink map's pixels


def ink_components(ink: np.ndarray, min_area: int = DIGIT.min_piece_area) -> tuple[np.ndarray, list[Component]]:
    """Connected pieces (8-connected) of ink, with hysteresis: a piece is grown over faint ink
    (grainy pencil stays in one piece) but needs ``min_area`` pixels of real ink (specks out)."""
    faint = ink >= FAINT_INK_LEVEL
    labels = np.zeros(ink.shape, dtype=np.int32)
    rows, cols = np.flatnonzero(faint.any(axis=1)), np.flatnonzero(faint.any(axis=0))
    if rows.size == 0:
        return labels, []
    # Labelled and measured within the ink's box: the same numbers (raster order is kept) and
    # the same sums (added in the same order), without the paper around it.
    top, left = int(rows[0]), int(cols[0])
    inside = np.s_[top : rows[-1] + 1, left : cols[-1] + 1]
    boxed, count = ndi.label(faint[inside], structure=np.ones((3, 3), dtype=bool))
    labels[inside] = boxed
    index = np.arange(1, count + 1)
    areas = ndi.sum_labels(ink[inside] >= INK_LEVEL, boxed, index)
    masses = ndi.sum_labels(ink[inside], boxed, index)
    height, width = ink.shape
    components = []
    for label, piece in enumerate(ndi.find_objects(boxed), start=1):
        if piece is None or areas[label - 1] < min_area:
            continue
        y, x = piece[0].start + top, piece[1].start + left
        box = Box(x, y, piece[1].stop - piece[1].start, piece[0].stop - piece[0].start)
        border = y == 0 or x == 0 or box.bottom == height or box.right == width
        components.append(Component(label, box, int(areas[label - 1]), float(masses[label - 1]), border))
    return labels, components


def _runs_along_frame(component: Component, shape: tuple[int, int]) -> bool:
    """A piece touching the frame and spanning much of it: a desk around the page, the page's
    edge, a shadow's border; or, with nothing else there, a digit cropped to its edges."""
    height, width = shape
    _, _, w, h = component.box
    return component.touches_border and (w >= DIGIT.frame_span * width or h >= DIGIT.frame_span * height)


def _score(component: Component, shape: tuple[int, int]) -> tuple[bool, float]:
    """Big and central wins; pieces cut by the frame count less, those along it come last."""
    height, width = shape
    cx, cy = component.centre
    dx, dy = (cx - width / 2) / width, (cy - height / 2) / height
    centrality = 1.0 / (1.0 + DIGIT.centre_pull * (dx * dx + dy * dy))
    weight = DIGIT.cut_by_frame if component.touches_border else 1.0
    return not _runs_along_frame(component, shape), component.mass * centrality * weight


def _looks_like_a_dot(component: Component, labels: np.ndarray, ink: np.ndarray) -> bool:
    """A small, filled, roundish blob (a speck, a blot, a pen dot) is no digit; even a marker
    "1" is elongated and other digits leave paper inside their box. Judged on the piece's
    real ink (its faint fringe makes any small blob look hollow)."""
    x, y, w, h = component.box
    solid = (labels[y : y + h, x : x + w] == component.label) & (ink[y : y + h, x : x + w] >= INK_LEVEL)
    rows, cols = np.flatnonzero(solid.any(axis=1)), np.flatnonzero(solid.any(axis=0))
    height, width = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
    fill = np.count_nonzero(solid) / float(height * width)
    small = max(height, width) <= DIGIT.dot_size * max(ink.shape)
    return bool(small and fill >= DIGIT.dot_fill and max(height, width) <= DIGIT.dot_aspect * min(height, width))


def _joins(box: Box, other: Component, main: Component, shape: tuple[int, int]) -> bool:
    """Does a fragment belong to the digit: close by, not running along the frame (a shadow's
    or the page's edge), and either inside its box (a broken pencil stroke) or big enough to
    be a stroke of its own (a "5"'s bar)? A big piece may lie further off (a faint joining
    stroke lost) and widen the box more (the bar above a "5"'s body)."""
    if _runs_along_frame(other, shape) or (other.touches_border and other.mass > main.mass):
        return False
    side = max(box.w, box.h)
    big = other.mass >= DIGIT.fragment_big * main.mass
    if max(box.gap(other.box)) > (DIGIT.big_fragment_gap if big else DIGIT.fragment_gap) * side:
        return False
    merged = box.union(other.box)
    grows = max(merged.w, merged.h) / side
    if grows > (DIGIT.big_fragment_growth if big else DIGIT.fragment_growth):
        return False  # a neighbour that would change the digit's size is something else
    inside = grows <= DIGIT.inside_growth
    return other.mass >= (DIGIT.fragment_inside if inside else DIGIT.fragment_outside) * main.mass


def select_digit(ink: np.ndarray, min_area: int = DIGIT.min_digit_area) -> Digit:
    """The digit in an ink map holding one: its main piece plus the fragments belonging to it.

    Raises NoDigitFound when there is no ink worth calling a digit (blank, specks, a dot).
    """
    labels, components = ink_components(ink)
    if not components:
        raise NoDigitFound("no digit found: the image looks blank")
    ranked = sorted((c for c in components if c.area >= min_area), key=lambda c: _score(c, ink.shape), reverse=True)
    if not ranked:
        raise NoDigitFound("no digit found: only specks of ink")
    main = next((c for c in ranked[: DIGIT.dot_candidates] if not _looks_like_a_dot(c, labels, ink)), None)
    if main is None:
        raise NoDigitFound("no digit found: only dots or blots of ink")
    chosen, box = [main], main.box
    others = sorted((c for c in components if c is not main), key=lambda c: -c.mass)
    grown = True
    while grown:
        grown = False
        for other in list(others):
            if _joins(box, other, main, ink.shape):
                chosen.append(other)
                others.remove(other)
                box, grown = box.union(other.box), True
    x, y, w, h = box
    chosen_label = np.zeros(int(labels.max()) + 1, dtype=bool)
    chosen_label[[c.label for c in chosen]] = True
    keep = chosen_label[labels[y : y + h, x : x + w]]
    # Soft edges below FAINT_INK_LEVEL belong to the nearest chosen piece: keep a 1 px fringe.
    keep = ndi.binary_dilation(keep, structure=np.ones((3, 3), dtype=bool))
    crop = np.where(keep, ink[y : y + h, x : x + w], 0.0).astype(np.float32)
    return Digit(ink=crop, box=box)
