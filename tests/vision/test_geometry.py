"""Boxes and frames: the one geometry the single-digit reader and the row segmenter share."""

from __future__ import annotations

import pytest

from recognizer.vision.geometry import Box, Frame


def test_a_box_is_a_tuple_with_named_sides() -> None:
    box = Box(10, 20, 30, 40)
    assert list(box) == [10, 20, 30, 40]
    assert (box.right, box.bottom, box.centre_x, box.centre_y) == (40, 60, 25.0, 40.0)


def test_union_holds_both_boxes() -> None:
    assert Box(0, 0, 10, 10).union(Box(20, 5, 5, 20)) == Box(0, 0, 25, 25)
    assert Box(3, 3, 2, 2).union(Box(0, 0, 10, 10)) == Box(0, 0, 10, 10)


@pytest.mark.parametrize(
    ("a", "b", "gap", "distance"),
    [
        (Box(0, 0, 10, 10), Box(13, 0, 5, 10), (3, 0), 3.0),  # side by side
        (Box(0, 0, 10, 10), Box(13, 14, 5, 5), (3, 4), 5.0),  # diagonal
        (Box(0, 0, 10, 10), Box(5, 5, 10, 10), (0, 0), 0.0),  # overlapping
        (Box(0, 0, 10, 10), Box(10, 0, 5, 5), (0, 0), 0.0),  # touching
    ],
)
def test_gap_and_distance_are_symmetric(a: Box, b: Box, gap: tuple[int, int], distance: float) -> None:
    assert a.gap(b) == b.gap(a) == gap
    assert a.distance(b) == b.distance(a) == pytest.approx(distance)


def test_column_overlap_is_a_share_of_the_narrower_box() -> None:
    assert Box(0, 0, 10, 10).column_overlap(Box(5, 50, 4, 4)) == 1.0
    assert Box(0, 0, 10, 10).column_overlap(Box(5, 0, 10, 10)) == 0.5
    assert Box(0, 0, 10, 10).column_overlap(Box(20, 0, 10, 10)) == 0.0


def test_a_frame_maps_working_boxes_to_upload_pixels_inside_the_upload() -> None:
    half = Frame(scale=0.5)
    assert half.to_upload(Box(10, 10, 5, 5), (1000, 1000)) == Box(20, 20, 10, 10)
    shifted = Frame(scale=2.0, left=100.0, top=50.0)
    assert shifted.to_upload(Box(3, 3, 3, 3), (1000, 1000)) == Box(101, 51, 2, 2)
    # Rounded outwards, and never outside the upload nor empty.
    assert Frame(scale=3.0).to_upload(Box(1, 1, 1, 1), (1000, 1000)) == Box(0, 0, 1, 1)
    assert half.to_upload(Box(90, 90, 20, 20), (200, 200)) == Box(180, 180, 20, 20)
