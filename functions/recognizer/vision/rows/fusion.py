"""The whole-row reader's reading and the segmenter's pieces, combined.

In: a row's pieces and the row reader's best reading (``strip.Emission``s; its signs are
``signs``' concern). Out: which digits
of the reading lie in which piece, pieces it surely reads no digit in folded into their
neighbour, and each digit's probabilities combined with the digit network's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from recognizer.vision.rows.pieces import Group, merged
from recognizer.vision.rows.strip import Emission, RowReader, best_reading, row_band, row_strip
from recognizer.vision.rows.tuning import FUSION, PIECES


@dataclass(frozen=True)
class PieceReading:
    """What the whole-row reader read over one piece of ink."""

    digits: list[Emission]  # the digits of its best reading that lie over the piece
    no_digit: bool  # it reads no digit over the piece, and every digit it reads in the row surely


def read_whole_row(ink: np.ndarray, groups: Sequence[Group], height: float, reader: RowReader) -> list[Emission]:
    """The whole-row reader's best reading of the row's band of ink (its pieces and the small
    marks between them), left to right."""
    strip = row_strip(ink, row_band(ink, [g.box for g in groups], height), height)
    return best_reading(reader.read(strip.pixels[None])[0], strip)


def digits_per_piece(reading: Sequence[Emission], groups: list[Group]) -> list[PieceReading]:
    """The digits the whole-row reader read in each piece, left to right (each goes to the
    piece whose columns hold it, or the nearest), and where it is sure there is none."""
    emissions = [e for e in reading if e.is_digit]
    read: list[list[Emission]] = [[] for _ in groups]
    for emission in emissions:
        distance = [max(g.box.x - emission.x, emission.x - g.box.right, 0.0) for g in groups]
        read[int(np.argmin(distance))].append(emission)
    sure = bool(emissions) and min(e.probability for e in emissions) >= FUSION.sure
    return [PieceReading(digits, sure and not digits) for digits in read]


def is_fragment(group: Group, height: float) -> bool:
    """Small or thin enough to be a stroke that came apart from a digit (not a mark of its own)."""
    return group.box.h < FUSION.fragment_height * height or group.box.w < FUSION.fragment_width * height


def fold_unread(groups: list[Group], read: list[PieceReading], height: float) -> tuple[list[Group], list[PieceReading]]:
    """Fragments the reader is sure hold no digit (a stroke of a digit that came apart) join the
    nearest piece it reads when close enough (PIECES.fragment_reach). Farther ones, and marks as
    large as a digit that it reads nothing in (a letter, a "#"), stay as they are, to be judged whole."""
    readable = [i for i, r in enumerate(read) if not r.no_digit]
    fragments = [i for i, r in enumerate(read) if r.no_digit and is_fragment(groups[i], height)]
    if not readable or not fragments:
        return groups, read
    folded = {i: group for i, group in enumerate(groups) if i not in fragments}
    for index in fragments:
        gaps = {k: groups[index].box.distance(folded[k].box) for k in readable}
        nearest = min(gaps, key=gaps.__getitem__)
        if gaps[nearest] <= PIECES.fragment_reach * height:
            folded[nearest] = merged(folded[nearest], groups[index])
        else:
            folded[index] = groups[index]
    order = sorted(folded, key=lambda i: folded[i].box.x)
    return [folded[i] for i in order], [read[i] for i in order]


def read_alike(parts: list[Group], read: Sequence[Emission]) -> list[Group]:
    """The parts of a piece with the reader's readings attached in order, when it read as many
    digits there as there are parts (otherwise which reading is which part is unknown)."""
    if len(parts) != len(read):
        return parts
    return [dataclasses.replace(part, read_as=emission.digits) for part, emission in zip(parts, read, strict=True)]


def with_row_reading(probabilities: Sequence[float], read_as: np.ndarray | None) -> np.ndarray:
    """The digit network's probabilities times the whole-row reader's (to FUSION.weight),
    renormalised: two readings made differently, one from the digit alone and one in its row."""
    network = np.asarray(probabilities, dtype=np.float64)
    if read_as is None:
        return network
    both = network * np.clip(read_as, 1e-6, 1.0) ** FUSION.weight
    return both / both.sum()
