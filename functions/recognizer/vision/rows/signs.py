"""A written number's signs: a leading minus, a decimal point or comma, found where the whole-row
reader reads one.

The segmenter's pieces leave small marks out (a point is a speck to it, a minus a fragment) or
fold them into a neighbouring digit. The row reader sees the whole row, small marks included
(``strip.row_band``), and reads the signs as symbols of their own; each sign it reads is matched
to the small piece of ink under it, which then leaves the row's digits. Where a sign may stand
is a rule, not the reader's: a minus before every digit, a point or comma between two digits
(a dot of dirt after the number is no point).

In: a row's ink map, the reader's best reading (``strip.Emission``s) and the row's height.
Out: ``Sign``s (symbol and box in the ink map) and the ink map without them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recognizer.vision.components import ink_components
from recognizer.vision.geometry import Box
from recognizer.vision.rows.strip import Emission
from recognizer.vision.rows.tuning import SIGNS


@dataclass(frozen=True)
class Sign:
    """A sign of a written number: its symbol and its ink's box in the working map."""

    symbol: str
    box: Box


def may_stand(emission: Emission, reading: Sequence[Emission]) -> bool:
    """A minus with no digit read before it; a point or comma with a digit read on each side."""
    before = any(e.is_digit and e.x < emission.x for e in reading)
    after = any(e.is_digit and e.x > emission.x for e in reading)
    return not before and after if emission.symbol == "-" else before and after


def shaped_like(symbol: str, box: Box, height: float) -> bool:
    """A minus is a short bar, wider than tall; a point or comma a small blot, no bar."""
    if box.h > SIGNS.max_height * height:
        return False
    if symbol == "-":
        return box.w >= SIGNS.bar_aspect * box.h and box.w <= SIGNS.max_bar * height
    return box.w <= SIGNS.max_dot * height and box.w < SIGNS.bar_aspect * box.h


def take_signs(ink: np.ndarray, reading: Sequence[Emission], height: float) -> tuple[np.ndarray, list[Sign]]:
    """The signs read in the row, each the nearest small piece of ink within SIGNS.reach of
    where it was read (none there: no sign), and the ink map with their pixels cleared."""
    wanted = [e for e in reading if not e.is_digit and e.probability >= SIGNS.least_probability]
    wanted = [e for e in wanted if may_stand(e, reading)]
    if not wanted:
        return ink, []
    labels, components = ink_components(ink)
    taken: dict[int, Sign] = {}
    for emission in wanted:
        near = [
            (max(c.box.x - emission.x, emission.x - c.box.right, 0.0), c)
            for c in components
            if c.label not in taken and shaped_like(emission.symbol, c.box, height)
        ]
        near = [(distance, c) for distance, c in near if distance <= SIGNS.reach * height]
        if near:
            _, component = min(near, key=lambda pair: pair[0])
            taken[component.label] = Sign(emission.symbol, component.box)
    if not taken:
        return ink, []
    cleared = np.where(np.isin(labels, list(taken)), 0.0, ink).astype(ink.dtype)
    return cleared, sorted(taken.values(), key=lambda sign: sign.box.x)


def standing(digit_xs: Sequence[float], signs: Sequence[tuple[float, str]]) -> list[int]:
    """Which of ``signs`` (x, symbol) may stand among digits at ``digit_xs`` (their indexes): a
    minus before every digit, a point or comma between two (checked again on the digits the
    row keeps, which may be fewer than the reader read)."""
    kept = []
    for index, (x, symbol) in enumerate(signs):
        before, after = any(d < x for d in digit_xs), any(d > x for d in digit_xs)
        if (symbol == "-" and after and not before) or (symbol != "-" and before and after):
            kept.append(index)
    return kept


def written_number(digits: Sequence[tuple[float, str]], signs: Sequence[tuple[float, str]]) -> str:
    """The number as written: ``digits`` and ``signs`` (x, symbol) interleaved left to right."""
    return "".join(symbol for _, symbol in sorted([*digits, *signs], key=lambda item: item[0]))
