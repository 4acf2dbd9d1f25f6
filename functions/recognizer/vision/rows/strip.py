"""The whole-row reader's side of the image maths: a row's ink as its input strip, and its
output decoded (CTC's best path).

The row reader (``networks.row_reader``) sees the whole row at once, the row's ink scaled to a
strip of fixed size, and answers for every column band of the strip how likely each symbol
(``SYMBOLS``: the ten digits, then a minus, a point and a comma) or "nothing here" (CTC's blank,
the last output) is (trained with CTC by ``training.fitting.train_row_reader``). A reader
trained on digits alone has 11 outputs: its alphabet is the first ten symbols.

In: a row's ink map and its pieces. Out: ``Strip`` float32 [32, 224] (white ink on black: the
ink within the row's band, small marks such as a decimal point included) and where its columns
lie in the ink map; decoding: the symbols read, each where it lies in the ink map, a digit with
its ten probabilities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from PIL import Image

from recognizer.vision.geometry import Box

STRIP_HEIGHT, STRIP_WIDTH = 32, 224
DIGIT_HEIGHT = 20.0  # strip pixels a row's typical digit is scaled to (as MNIST's 20 px box)
MARGIN = 4  # strip pixels kept clear on every side
BAND = 4  # strip columns per output step (the network pools width by 4)
STEPS = STRIP_WIDTH // BAND
DIGITS = "0123456789"
SIGNS = "-.,"  # a leading minus, a decimal point, a decimal comma
SYMBOLS = DIGITS + SIGNS  # the reader's outputs in order, CTC's blank after the last one
BLANK = len(SYMBOLS)  # the blank's index in a reader of every symbol
SIDE_REACH = 1.5  # of the row's height: the band reaches this far beyond its first and last piece
BAND_PAD = 0.35  # and this far above and below them (a comma's tail hangs below the row)


class RowReader(Protocol):
    """The whole-row reader (``networks.row_reader``)."""

    def read(self, strips: np.ndarray) -> np.ndarray:
        """Per-step probabilities [N, STEPS, symbols + 1] for strips float32 [N, STRIP_HEIGHT, STRIP_WIDTH]."""
        ...


@dataclass(frozen=True)
class Strip:
    """A row's ink as the row reader's input, and how its columns map back to the ink map."""

    pixels: np.ndarray  # float32 [STRIP_HEIGHT, STRIP_WIDTH]
    scale: float  # strip pixels per ink-map pixel
    left: float  # the ink-map column at the strip's column MARGIN

    def to_ink_x(self, strip_x: float) -> float:
        return self.left + (strip_x - MARGIN) / self.scale


@dataclass(frozen=True)
class Emission:
    """One symbol of the row reader's best reading."""

    symbol: str  # a digit or one of SIGNS
    x: float  # ink-map column of the steps that read it (their middle)
    probability: float  # its peak probability over those steps
    digits: np.ndarray  # float64 [10]: the ten digits' probabilities at that peak, the rest left out

    @property
    def is_digit(self) -> bool:
        return self.symbol in DIGITS

    @property
    def digit(self) -> int:
        return int(self.symbol)


def row_strip(ink: np.ndarray, keep: np.ndarray, row_height: float) -> Strip:
    """The kept ink (``keep``: bool, same shape: ``row_band``) cropped to the row and scaled
    so its typical digit is DIGIT_HEIGHT tall, or less where the row would not fit."""
    rows, cols = np.flatnonzero(keep.any(axis=1)), np.flatnonzero(keep.any(axis=0))
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    crop = np.where(keep[top:bottom, left:right], ink[top:bottom, left:right], 0.0).astype(np.float32)
    height, width = crop.shape
    scale = min(
        DIGIT_HEIGHT / max(1.0, row_height),
        (STRIP_HEIGHT - 2 * MARGIN) / height,
        (STRIP_WIDTH - 2 * MARGIN) / width,
    )
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resampling = Image.Resampling.BILINEAR
    scaled = np.asarray(
        Image.fromarray(crop, mode="F").resize(size, resampling, reducing_gap=None if scale > 1 else 2.0)
    )
    pixels = np.zeros((STRIP_HEIGHT, STRIP_WIDTH), np.float32)
    y = (STRIP_HEIGHT - size[1]) // 2
    pixels[y : y + size[1], MARGIN : MARGIN + size[0]] = np.clip(scaled, 0.0, 1.0)
    return Strip(pixels, float(scale), float(left))


def row_band(ink: np.ndarray, boxes: Sequence[Box], height: float) -> np.ndarray:
    """Where the row lies (bool, ink's shape): the rows its pieces span (BAND_PAD of the height
    beyond) and the columns from SIDE_REACH before the first to SIDE_REACH after the last, so a
    minus or a point the pieces left out is in the strip too."""
    band = np.zeros(ink.shape, dtype=bool)
    top = max(0, int(min(b.y for b in boxes) - BAND_PAD * height))
    bottom = int(np.ceil(max(b.bottom for b in boxes) + BAND_PAD * height))
    left = max(0, int(min(b.x for b in boxes) - SIDE_REACH * height))
    right = int(np.ceil(max(b.right for b in boxes) + SIDE_REACH * height))
    band[top:bottom, left:right] = ink[top:bottom, left:right] > 0
    return band


def best_path(probs: np.ndarray) -> list[tuple[int, int, int]]:
    """CTC's best path over probabilities [STEPS, symbols + 1] (blank last): the likeliest
    symbol per step, repeats merged, blanks dropped; each symbol's index with the steps that
    read it, (index, first step, step after the last)."""
    blank = probs.shape[-1] - 1
    best = probs.argmax(axis=1)
    runs, start = [], 0
    for step in range(1, len(best) + 1):
        if step == len(best) or best[step] != best[start]:
            if best[start] != blank:
                runs.append((int(best[start]), start, step))
            start = step
    return runs


def read_symbols(probs: np.ndarray) -> str:
    """The best path's symbols as text ("-12.5")."""
    return "".join(SYMBOLS[index] for index, _, _ in best_path(probs))


def best_reading(probs: np.ndarray, strip: Strip) -> list[Emission]:
    """The best path's symbols, each where it lies in the ink map and how surely it was read."""
    emissions = []
    for index, start, stop in best_path(probs):
        at = start + int(probs[start:stop, index].argmax())
        digits = np.asarray(probs[at, : len(DIGITS)], dtype=np.float64)
        digits = digits / max(float(digits.sum()), 1e-12)
        x = strip.to_ink_x(BAND * (start + stop) / 2.0)
        emissions.append(Emission(SYMBOLS[index], x, float(probs[at, index]), digits))
    return emissions
