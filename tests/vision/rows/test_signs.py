"""A written number's signs: matched to the small ink the row reader reads them over, kept only
where a sign may stand, and written into the number."""

from __future__ import annotations

import numpy as np

from recognizer.vision.geometry import Box
from recognizer.vision.rows.signs import may_stand, standing, take_signs, written_number
from recognizer.vision.rows.strip import Emission

HEIGHT = 40.0


def ink_of(boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    ink = np.zeros((120, 400), np.float32)
    for x, y, w, h in boxes:
        ink[y : y + h, x : x + w] = 1.0
    return ink


def read(*symbols: tuple[str, float], probability: float = 0.99) -> list[Emission]:
    return [Emission(symbol, x, probability, np.full(10, 0.1)) for symbol, x in symbols]


# Digits 40 tall from row 40: a minus at mid-height before them, a point on the baseline between
# the second and the third, a dot of dirt after the last.
DIGITS = [(100, 40, 24, 40), (134, 40, 24, 40), (180, 40, 24, 40)]
MINUS = (70, 58, 18, 5)
POINT = (166, 75, 5, 5)
DIRT = (222, 76, 4, 4)


def test_each_sign_read_is_the_small_ink_under_it_and_leaves_the_ink_map() -> None:
    ink = ink_of([*DIGITS, MINUS, POINT, DIRT])
    reading = read(("-", 79), ("1", 112), ("2", 146), (".", 168), ("7", 192))
    cleared, signs = take_signs(ink, reading, HEIGHT)
    assert [(s.symbol, s.box) for s in signs] == [("-", Box(*MINUS)), (".", Box(*POINT))]
    assert not cleared[58:63, 70:88].any() and not cleared[75:80, 166:171].any()
    assert np.array_equal(cleared[40:80, 100:158], ink[40:80, 100:158])  # the digits stay
    assert cleared[76:80, 222:226].all()  # read as nothing, the dirt stays for the segmenter to drop


def test_a_dot_after_the_number_or_a_minus_inside_it_is_no_sign() -> None:
    ink = ink_of([*DIGITS, MINUS, POINT, DIRT])
    reading = read(("1", 112), ("-", 146), ("7", 192), (".", 224))
    assert not may_stand(reading[1], reading) and not may_stand(reading[3], reading)
    assert take_signs(ink, reading, HEIGHT) == (ink, [])


def test_a_sign_read_over_no_small_ink_or_unsurely_is_no_sign() -> None:
    ink = ink_of(DIGITS)
    assert take_signs(ink, read(("1", 112), (".", 168), ("7", 192)), HEIGHT)[1] == []
    ink = ink_of([*DIGITS, POINT])
    unsure = read(("1", 112), (".", 168), ("7", 192), probability=0.3)
    assert take_signs(ink, unsure, HEIGHT)[1] == []


def test_a_minus_is_a_bar_and_a_point_a_blot() -> None:
    # A point read over a bar, a minus read over a blot: neither matches.
    ink = ink_of([*DIGITS, (160, 74, 18, 5), (80, 58, 5, 5)])
    reading = read(("-", 82), ("1", 112), ("2", 146), (".", 169), ("7", 192))
    assert take_signs(ink, reading, HEIGHT)[1] == []


def test_the_number_is_written_with_its_signs_where_they_may_stand() -> None:
    digits = [(10.0, "1"), (30.0, "2"), (60.0, "5")]
    signs = [(0.0, "-"), (45.0, "."), (80.0, ".")]
    kept = standing([x for x, _ in digits], signs)
    assert kept == [0, 1]
    assert written_number(digits, [signs[i] for i in kept]) == "-12.5"
    # The digits after a minus left out (not digits), the minus has nothing to stand before.
    assert standing([], signs) == []
    assert written_number([(10.0, "3"), (40.0, "0"), (55.0, "7")], [(25.0, ",")]) == "3,07"
