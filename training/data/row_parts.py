"""Digits as the row reader cuts them out of a row, for training the network to read them.

Where digits touch, the row segmenter (``recognizer.vision.rows``) parts them along paths that
cross little ink: the part it reads as a digit may keep a stroke of its neighbour or lose a
bit of its own (the end of a bar, the side of a loop). MNIST never shows the network such
digits, and those it misreads cost whole rows. So rows are made from training digits
(``training.data.rows``), cut as the service cuts them (its ink map, pieces and candidate cuts;
the model plays no part in where the cuts can go), and for each true digit in a piece of
touching digits the candidate part that covers it best (it holds that digit's centre and no
other's, and its box overlaps the digit's most, by IoU, at least ``MATCH_IOU``) is normalised as the service normalises it and labelled with that digit. Some
digits standing alone in a row are kept too, as the service crops them.

Used by ``training.fitting.train`` (``--row-parts``); only ever given training-split digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recognizer.decoding import decode_for_recognition
from recognizer.settings import Settings
from recognizer.vision.digit import normalize_digit
from recognizer.vision.rows.cuts import candidate_parts, normalize_part, stroke_px
from recognizer.vision.rows.pieces import Group, crop_ink, row_groups, row_height
from recognizer.vision.rows.segment import row_ink_map, working_side
from training.data.rows import box_iou, covered_digit, make_rows

REPO = Path(__file__).resolve().parents[2]

MATCH_IOU = 0.7  # a part stands for a digit when its box overlaps the digit's this much
ALONE_SHARE = 0.25  # share of the digits standing alone that are kept
# Touching digits are what MNIST lacks: those kinds of row come most often.
KINDS = ("touching", "close", "touching", "ruled", "touching", "photo", "close", "spaced", "mnist_strip")

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class RowParts:
    images: np.ndarray  # float32 [N, 28, 28], the model's input as the service makes it
    labels: np.ndarray  # uint8 [N]
    from_touching: int  # how many were cut from pieces holding several digits


def digit_covered(box: Box, truth: list[Box]) -> int | None:
    """The index of the one true digit whose centre the box holds, if it covers that digit."""
    return covered_digit(box, truth, MATCH_IOU)


@dataclass(frozen=True)
class ServedPieces:
    """A row image's pieces of ink as the service finds them, and its true digits' boxes."""

    ink: np.ndarray  # the working ink map
    groups: list[Group]
    height: float  # the row's digit height, working pixels
    truth: list[Box]  # the true digits' boxes, working pixels

    def digits_in(self, group: Group) -> list[int]:
        """Which true digits have their centres within the piece's columns."""
        x, _, w, _ = group.box
        return [i for i, t in enumerate(self.truth) if x <= t[0] + t[2] / 2 < x + w]


def pieces_as_served(data: bytes, boxes) -> ServedPieces | None:
    """Decode a row image and find its pieces as the service does (None: no ink)."""
    image = decode_for_recognition(data, Settings())  # the service's default limits
    mapped = row_ink_map(image, working_side(image.size))
    groups = row_groups(mapped.ink)
    if not groups:
        return None
    truth = [tuple(v * mapped.scale for v in box) for box in boxes]
    return ServedPieces(mapped.ink, groups, row_height(groups), truth)


def parts_of_row(data: bytes, boxes, number: str, rng: np.random.Generator) -> list[tuple[np.ndarray, int, bool]]:
    """(model input, true digit, cut from touching digits) for the digits of one row image."""
    row = pieces_as_served(data, boxes)
    if row is None:
        return []
    found = []
    for group in row.groups:
        inside = row.digits_in(group)
        if len(inside) == 1:
            if digit_covered(group.box, row.truth) is not None and rng.random() < ALONE_SHARE:
                found.append((normalize_digit(crop_ink(row.ink, group)), int(number[inside[0]]), False))
            continue
        if len(inside) < 2:
            continue
        # Of the parts covering a digit, the closest to it: what a good cut gives the network.
        best: dict[int, tuple[float, Group]] = {}
        for part in candidate_parts(group, row.height).parts[1:]:
            index = digit_covered(part.box, row.truth)
            if index is not None:
                overlap = box_iou(part.box, row.truth[index])
                if index not in best or overlap > best[index][0]:
                    best[index] = (overlap, part)
        stroke = stroke_px(group.mask)
        for index, (_, part) in best.items():
            found.append((normalize_part(crop_ink(row.ink, part), stroke), int(number[index]), True))
    return found


def row_part_set(images: np.ndarray, labels: np.ndarray, rows: int, seed: int) -> RowParts:
    """Digits cut from ``rows`` rows of the given (training) digits, seeded."""
    rng = np.random.default_rng(seed)
    inputs, digits, touching = [], [], 0
    for row in make_rows(images, labels, rows, KINDS, seed=seed):
        for model_input, digit, cut in parts_of_row(row.data, row.boxes, row.number, rng):
            inputs.append(model_input)
            digits.append(digit)
            touching += cut
    if not inputs:
        return RowParts(np.zeros((0, 28, 28), np.float32), np.zeros(0, np.uint8), 0)
    return RowParts(np.stack(inputs).astype(np.float32), np.asarray(digits, dtype=np.uint8), touching)
