"""A row photographed at an angle: how far it is turned, and its ink turned level.

In: a row's ink map (float32 [H, W] in [0, 1]). Out: a ``Turn`` that levels it (or None when the
row is level enough, or too short to tell), the levelled ink, and each box found in the levelled
ink as a box of the original map.

The angle is the ink's principal axis (its second moments): along a row of digits the ink
spreads far more than across it. A row of two digits is barely longer than tall and a slanted
digit tilts its axis, so short rows are left as they are: their digits stand alone anyway, and
the digit network reads digits turned by the few degrees a short row may be.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from recognizer.vision.geometry import Box
from recognizer.vision.rows.tuning import SKEW
from recognizer.vision.strokes import INK_LEVEL


@dataclass(frozen=True)
class Turn:
    """A rotation of a map by ``degrees`` (positive: the row's right end goes up) onto a canvas
    grown to hold it: levelled (x, y) = matrix @ (x, y) - origin."""

    degrees: float
    matrix: np.ndarray  # 2x2
    origin: np.ndarray  # 2
    size: tuple[int, int]  # (width, height) of the levelled map

    @classmethod
    def of(cls, degrees: float, shape: tuple[int, int]) -> Turn:
        angle = np.deg2rad(degrees)
        matrix = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
        height, width = shape
        corners = np.array([[0, 0], [width, 0], [0, height], [width, height]], dtype=float) @ matrix.T
        origin = corners.min(axis=0)
        extent = np.ceil(corners.max(axis=0) - origin).astype(int)
        return cls(degrees, matrix, origin, (int(extent[0]), int(extent[1])))

    def apply(self, ink: np.ndarray) -> np.ndarray:
        """``ink`` turned level (bilinear), on the grown canvas."""
        inverse = np.linalg.inv(self.matrix)
        shift = inverse @ self.origin  # levelled (0, 0) comes from inverse @ origin
        coefficients = (inverse[0, 0], inverse[0, 1], shift[0], inverse[1, 0], inverse[1, 1], shift[1])
        image = Image.fromarray(ink.astype(np.float32, copy=False), mode="F")
        turned = image.transform(self.size, Image.Transform.AFFINE, coefficients, Image.Resampling.BILINEAR)
        return np.clip(np.asarray(turned, dtype=np.float32), 0.0, 1.0)

    def box_back(self, box: Box, shape: tuple[int, int]) -> Box:
        """A box of the levelled map as the box (of the original map, ``shape``) holding it."""
        x, y, w, h = box
        corners = np.array([[x, y], [x + w, y], [x, y + h], [x + w, y + h]], dtype=float) + self.origin
        back = corners @ np.linalg.inv(self.matrix).T
        left, top = np.floor(back.min(axis=0)).astype(int)
        right, bottom = np.ceil(back.max(axis=0)).astype(int)
        left, top = max(0, int(left)), max(0, int(top))
        right, bottom = min(shape[1], int(right)), min(shape[0], int(bottom))
        return Box(left, top, max(1, right - left), max(1, bottom - top))


def row_angle(ink: np.ndarray) -> float | None:
    """The angle (degrees, positive: rising to the right) of the row's ink, or None when the
    ink is not elongated enough to tell (``SKEW.min_elongation``)."""
    ys, xs = np.nonzero(ink >= INK_LEVEL)
    if xs.size < 3:
        return None
    xs, ys = xs - xs.mean(), ys - ys.mean()
    var_x, var_y, cov = float(np.mean(xs * xs)), float(np.mean(ys * ys)), float(np.mean(xs * ys))
    spread = np.sqrt(((var_x - var_y) / 2) ** 2 + cov**2)
    major, minor = (var_x + var_y) / 2 + spread, max((var_x + var_y) / 2 - spread, 1e-9)
    if major / minor < SKEW.min_elongation**2:
        return None
    return float(-np.rad2deg(0.5 * np.arctan2(2 * cov, var_x - var_y)))  # y points down


def levelling(ink: np.ndarray) -> Turn | None:
    """The turn that levels the row, when it is turned enough to matter (``SKEW.min_angle``)
    and no more than a photo of a row is (``SKEW.max_angle``)."""
    angle = row_angle(ink)
    if angle is None or not SKEW.min_angle <= abs(angle) <= SKEW.max_angle:
        return None
    return Turn.of(-angle, ink.shape)
