"""Rows photographed at an angle are turned level before they are cut (vision/rows/skew.py)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from recognizer.vision.geometry import Box
from recognizer.vision.rows.skew import Turn, levelling, row_angle


def _row(count: int, degrees: float) -> np.ndarray:
    """``count`` blobs 40 px tall along a line rising ``degrees`` to the right."""
    canvas = np.zeros((260, 60 * count + 80), dtype=np.float32)
    for index in range(count):
        x = 40 + 60 * index
        canvas[110:150, x : x + 12] = 1.0  # a stroke
        canvas[110:116, x : x + 30] = 1.0  # and a bar
    turned = Image.fromarray(canvas, mode="F").rotate(degrees, Image.Resampling.BILINEAR)
    return np.clip(np.asarray(turned), 0, 1)


@pytest.mark.parametrize("degrees", [-15.0, -6.0, 0.0, 4.0, 12.0])
def test_the_angle_of_a_long_row_is_found(degrees: float) -> None:
    assert row_angle(_row(5, degrees)) == pytest.approx(degrees, abs=1.5)


def test_a_level_or_short_row_is_left_as_it_is() -> None:
    assert levelling(_row(5, 1.0)) is None
    assert row_angle(_row(1, 10.0)) is None  # one digit: no row to tell the angle of
    assert levelling(_row(5, 60.0)) is None  # a column or a diagonal, not a photographed row


def test_a_turned_row_comes_out_level_and_its_boxes_go_back() -> None:
    ink = _row(5, 10.0)
    turn = levelling(ink)
    assert turn is not None and turn.degrees == pytest.approx(-10.0, abs=1.5)
    level = turn.apply(ink)
    assert abs(row_angle(level) or 0.0) < 1.0
    rows = np.flatnonzero((level >= 0.5).any(axis=1))
    assert rows[-1] - rows[0] < 60  # the row's height, no longer its slope
    # The whole levelled map goes back to (at most) the whole original map.
    whole = turn.box_back(Box(0, 0, level.shape[1], level.shape[0]), ink.shape)
    assert whole == Box(0, 0, ink.shape[1], ink.shape[0])


def test_a_box_goes_back_to_where_its_ink_was() -> None:
    ink = np.zeros((200, 400), dtype=np.float32)
    ink[90:110, 290:310] = 1.0
    turn = Turn.of(-12.0, ink.shape)
    level = turn.apply(ink)
    ys, xs = np.nonzero(level >= 0.5)
    found = Box(int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1))
    back = turn.box_back(found, ink.shape)
    assert back.x <= 290 and back.y <= 90 and back.x + back.w >= 310 and back.y + back.h >= 110
    assert back.w < 40 and back.h < 40
