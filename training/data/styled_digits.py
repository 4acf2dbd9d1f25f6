"""Training digits in hands and pens MNIST does not show (issue #16), from training digits only.

Each MNIST training-split digit chosen is drawn large (``training.data.realistic.mnist_glyph``), given
one style of ``training.data.hand_styles`` and normalised exactly as the service normalises an upload
(``recognizer.vision.digit.normalize_digit``):

- ``low_resolution``: drawn in 6-14 px and enlarged (nearest, bilinear or bicubic);
- ``slanted``: sheared by 0.25-0.7 either way (mostly right) and narrowed to 70-100%;
- ``broad_nib``: a calligraphic nib 6-20% of the height at 10-70 degrees, hairline joins.

The ranges are wider than the evaluation's (``training.data.realistic`` kinds) and the digits are
other writers', so the evaluation measures a style, not its generator's settings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recognizer.errors import NoDigitFound
from recognizer.vision.digit import normalize_digit
from training.data import hand_styles, non_digits, stroke_fonts
from training.data.realistic import Glyph, ink_glyph, mnist_glyph

Rng = np.random.Generator


def _low_resolution(glyph: Glyph, rng: Rng) -> np.ndarray:
    ink = np.pad(glyph.render(64, rng), 3)
    resample = ("nearest", "bilinear", "bicubic")[int(rng.integers(3))]
    scan = hand_styles.shrunk_and_enlarged(ink, int(rng.integers(6, 15)), float(rng.uniform(3, 10)), resample)
    return scan / max(float(scan.max()), 1e-6)  # a scanner's auto-levels: its darkest grey is ink


def _slanted(glyph: Glyph, rng: Rng) -> np.ndarray:
    shear = float(rng.uniform(0.25, 0.7)) * (1 if rng.random() < 0.75 else -1)
    return hand_styles.slanted(glyph.render(int(rng.integers(40, 90)), rng), shear, float(rng.uniform(0.7, 1.0)))


def _broad_nib(glyph: Glyph, rng: Rng) -> np.ndarray:
    height = int(rng.integers(60, 140))
    nib = float(rng.uniform(0.06, 0.2)) * height
    return hand_styles.broad_nib(glyph.render(height, rng), nib, float(rng.uniform(10, 70)))


# A fine pen's digit, normalised to MNIST's stroke width, is an MNIST digit again: not taught
# (hand_styles.fine_pen serves the evaluation). A broad nib's keeps its thick and thin strokes.
STYLES: dict[str, Callable[[Glyph, Rng], np.ndarray]] = {
    "low_resolution": _low_resolution,
    "slanted": _slanted,
    "broad_nib": _broad_nib,
}


@dataclass(frozen=True)
class StyledDigits:
    images: np.ndarray  # float32 [N, 28, 28] in [0, 1], network inputs
    labels: np.ndarray  # int64 [N]
    styles: tuple[str, ...]  # each image's style


def styled_digit_set(images: np.ndarray, labels: np.ndarray, per_style: int, seed: int) -> StyledDigits:
    """``per_style`` digits of each style, each from a training digit drawn at random (seeded)."""
    rng = np.random.default_rng(seed)
    inputs: list[np.ndarray] = []
    chosen_labels: list[int] = []
    styles: list[str] = []
    for name, style in STYLES.items():
        for index in rng.choice(len(images), size=per_style, replace=per_style > len(images)):
            glyph = mnist_glyph(images[index], int(labels[index]))
            try:
                inputs.append(normalize_digit(style(glyph, rng)))
            except NoDigitFound:  # a style that left no ink (a thin "1" in 6 px): not a digit to learn
                continue
            chosen_labels.append(int(labels[index]))
            styles.append(name)
    if not inputs:
        return StyledDigits(np.zeros((0, 28, 28), np.float32), np.zeros(0, np.int64), ())
    return StyledDigits(np.stack(inputs).astype(np.float32), np.asarray(chosen_labels, np.int64), tuple(styles))


def _character_pool(fonts: list[Path]) -> tuple[list[np.ndarray], list[stroke_fonts.Glyph]]:
    """Each letter and symbol taught, as font inks and as pen glyphs; the hard ones three times."""
    chars = non_digits.CHARACTERS + non_digits.TRAINING_ONLY
    weighted = chars + 2 * "".join(c for c in chars if c in non_digits.HARD)
    rng = np.random.default_rng(0)  # the font inks are varied again when styled
    inks = non_digits.character_inks(fonts, weighted, 1, rng)
    pens = stroke_fonts.glyphs(stroke_fonts.LATIN + stroke_fonts.SYMBOL_FONTS, weighted)
    return inks, pens


def _bar_like(model_input: np.ndarray) -> bool:
    """As narrow as a "1" once normalised (a symbol font's stroke, a squeezed dash): never taught
    as "not a digit"."""
    columns = np.flatnonzero(model_input.max(axis=0) > 0.3)
    return len(columns) == 0 or int(columns[-1] - columns[0]) + 1 <= BAR_WIDTH


BAR_WIDTH = 7  # px of 28: MNIST's "1"s are 3-8 px wide, upright


def styled_non_digit_set(fonts: list[Path], per_style: int, seed: int) -> np.ndarray:
    """``per_style`` things that are not digits in each hand style, as network inputs float32
    [N, 28, 28]: letters and symbols of ``fonts`` and of the pen fonts (``non_digits.HARD`` ones
    more often) seven times in ten, scribbles, shapes and textures otherwise."""
    rng = np.random.default_rng(seed)
    inks, pens = _character_pool(fonts)
    drawings = list(non_digits.DRAWINGS)
    inputs: list[np.ndarray] = []
    for style in STYLES.values():
        for _ in range(per_style):
            pick = rng.random()
            if pick < 0.35 and inks:
                ink = non_digits.varied(inks[int(rng.integers(len(inks)))], rng)
            elif pick < 0.7 and pens:
                ink = stroke_fonts.written(pens[int(rng.integers(len(pens)))], rng)
            else:
                ink = non_digits.drawing(drawings[int(rng.integers(len(drawings)))], rng, non_digits.TRAINING_STYLE)
            try:
                normalized = normalize_digit(style(ink_glyph(ink), rng))
            except NoDigitFound:
                continue
            if not _bar_like(normalized):
                inputs.append(normalized)
    if not inputs:
        return np.zeros((0, 28, 28), np.float32)
    return np.stack(inputs).astype(np.float32)
