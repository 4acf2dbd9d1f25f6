"""Boxes on a pixel grid, and how a working map's boxes map back to the upload's pixels.

In: integer boxes ``Box(x, y, w, h)`` (left, top, width, height). Out: boxes, distances and
overlaps. Written once for the single-digit reader and the row segmenter alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

# ``Image.info`` key under which the upload's own (upright) size is kept when a decoded image is
# smaller (a JPEG decoded at a reduced scale), so that boxes can be given in upload pixels.
UPLOAD_SIZE_KEY = "upload_size"


class Box(NamedTuple):
    """An axis-aligned box: left ``x``, top ``y``, width ``w``, height ``h`` (a tuple, so
    ``list(box)`` is the API's ``[x, y, w, h]``)."""

    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    @property
    def centre_x(self) -> float:
        return self.x + self.w / 2.0

    @property
    def centre_y(self) -> float:
        return self.y + self.h / 2.0

    def union(self, other: Box) -> Box:
        """The smallest box holding both."""
        left, top = min(self.x, other.x), min(self.y, other.y)
        return Box(left, top, max(self.right, other.right) - left, max(self.bottom, other.bottom) - top)

    def gap(self, other: Box) -> tuple[int, int]:
        """Horizontal and vertical distance between the two boxes (0 where they overlap)."""
        gap_x = max(0, max(self.x, other.x) - min(self.right, other.right))
        gap_y = max(0, max(self.y, other.y) - min(self.bottom, other.bottom))
        return gap_x, gap_y

    def distance(self, other: Box) -> float:
        """Euclidean distance between the two boxes' nearest points (0 where they overlap)."""
        return float(np.hypot(*self.gap(other)))

    def column_overlap(self, other: Box) -> float:
        """Shared columns as a fraction of the narrower box's width."""
        shared = min(self.right, other.right) - max(self.x, other.x)
        return max(0, shared) / max(1, min(self.w, other.w))


@dataclass(frozen=True)
class Frame:
    """Where a working map sits in the upload: working pixels per upload pixel, and the
    upload pixel at the map's origin."""

    scale: float
    left: float = 0.0
    top: float = 0.0

    def to_upload(self, box: Box, limit: tuple[int, int]) -> Box:
        """A working-map box in the upload's pixels, kept inside ``limit`` (width, height)."""
        x, y, w, h = box
        left = max(0, math.floor(x / self.scale + self.left))
        top = max(0, math.floor(y / self.scale + self.top))
        right = min(limit[0], math.ceil((x + w) / self.scale + self.left))
        bottom = min(limit[1], math.ceil((y + h) / self.scale + self.top))
        return Box(left, top, max(1, right - left), max(1, bottom - top))
