"""The whole-row reader's side of the image maths: a row's ink as its input strip, and its
output decoded (CTC's best path).

The row reader (``networks.row_reader``) sees the whole row at once, the row's ink scaled to a
strip of fixed size, and answers for every column band of the strip how likely each digit or
"no digit here" is (trained with CTC by ``training.fitting.train_row_reader``).

In: a row's ink map and which pixels are its pieces. Out: ``Strip`` float32 [32, 224] (white ink
on black) and where its columns lie in the ink map; decoding: the digits read, each where it
lies in the ink map with its ten probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from PIL import Image

STRIP_HEIGHT, STRIP_WIDTH = 32, 224
DIGIT_HEIGHT = 20.0  # strip pixels a row's typical digit is scaled to (as MNIST's 20 px box)
MARGIN = 4  # strip pixels kept clear on every side
BAND = 4  # strip columns per output step (the network pools width by 4)
STEPS = STRIP_WIDTH // BAND
BLANK = 10


class RowReader(Protocol):
    """The whole-row reader (``networks.row_reader``)."""

    def read(self, strips: np.ndarray) -> np.ndarray:
        """Per-step probabilities [N, STEPS, 11] for strips float32 [N, STRIP_HEIGHT, STRIP_WIDTH]."""
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
    """One digit of the row reader's best reading."""

    digit: int
    x: float  # ink-map column of the steps that read it (their middle)
    probability: float  # its peak probability over those steps
    digits: np.ndarray  # float64 [10]: the ten digits' probabilities at that peak, blank left out


def row_strip(ink: np.ndarray, keep: np.ndarray, row_height: float) -> Strip:
    """The kept ink (``keep``: bool, same shape: the row's pieces) cropped to the row and scaled
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


def best_path(probs: np.ndarray) -> list[tuple[int, int, int]]:
    """CTC's best path: the likeliest symbol per step, repeats merged, blanks dropped; each
    digit with the steps that read it, (digit, first step, step after the last)."""
    best = probs.argmax(axis=1)
    runs, start = [], 0
    for step in range(1, len(best) + 1):
        if step == len(best) or best[step] != best[start]:
            if best[start] != BLANK:
                runs.append((int(best[start]), start, step))
            start = step
    return runs


def best_reading(probs: np.ndarray, strip: Strip) -> list[Emission]:
    """The best path's digits, each where it lies in the ink map and how surely it was read."""
    emissions = []
    for digit, start, stop in best_path(probs):
        at = start + int(probs[start:stop, digit].argmax())
        digits = np.asarray(probs[at, :BLANK], dtype=np.float64)
        digits = digits / max(float(digits.sum()), 1e-12)
        emissions.append(Emission(digit, strip.to_ink_x(BAND * (start + stop) / 2.0), float(probs[at, digit]), digits))
    return emissions
