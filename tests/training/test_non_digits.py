"""Non-digits for training and evaluation: what they are, and that they look like what the
network is fed."""

from __future__ import annotations

import numpy as np
import pytest

from training.data import non_digits
from training.data.font_digits import NON_DIGIT_VALIDATION_FONTS, TRAINING_FONTS, check_disjoint
from training.data.realistic import HANDWRITING_FONTS


def test_no_digit_and_no_digit_like_character_is_taught_as_a_non_digit():
    assert not set("0123456789") & set(non_digits.CHARACTERS)
    assert not non_digits.AMBIGUOUS & set(non_digits.CHARACTERS)
    for lookalike in "OoIlSsZzBGbqg":
        assert lookalike in non_digits.AMBIGUOUS
    assert set("#&@%?") <= set(non_digits.SYMBOLS)


def test_training_evaluation_and_validation_fonts_are_apart():
    check_disjoint(TRAINING_FONTS)
    check_disjoint(NON_DIGIT_VALIDATION_FONTS)
    families = {name.split("/")[0] for name in HANDWRITING_FONTS}
    assert not families & {name.split("/")[0] for name in NON_DIGIT_VALIDATION_FONTS}
    assert not set(TRAINING_FONTS) & set(NON_DIGIT_VALIDATION_FONTS)
    assert non_digits.TRAINING_STYLE != non_digits.EVALUATION_STYLE


@pytest.mark.parametrize("name", list(non_digits.DRAWINGS))
def test_each_drawing_is_ink(name):
    for seed in range(5):
        ink = non_digits.drawing(name, np.random.default_rng(seed), non_digits.TRAINING_STYLE)
        assert ink.dtype == np.float32 and ink.ndim == 2
        assert ink.min() >= 0.0 and ink.max() <= 1.0 + 1e-6
        assert (ink > 0.5).sum() > 20, "a drawing must leave ink"


def test_families_name_every_drawing():
    named = {name for names in non_digits.FAMILIES.values() for name in names}
    assert set(non_digits.DRAWINGS) <= named


def test_training_inputs_are_normalised_like_served_digits():
    inputs = non_digits.training_inputs([], per_char=1, drawings=24, seed=5)
    assert inputs.shape == (24, 28, 28) and inputs.dtype == np.float32
    for image in inputs:
        assert image.max() == pytest.approx(1.0, abs=0.05)
        rows, cols = np.nonzero(image > 0.1)
        # normalize_digit's 20x20 box inside 28x28, centred by mass: no ink on the outer rows.
        assert rows.min() >= 1 and rows.max() <= 26 and cols.min() >= 1 and cols.max() <= 26
    # Seeded: the same set twice.
    assert np.array_equal(inputs, non_digits.training_inputs([], 1, 24, seed=5))
