"""Font-rendered training digits: never from the evaluation fonts, normalised as the service does."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from training.data import font_digits
from training.data.realistic import HANDWRITING_FONTS


def test_evaluation_font_families_are_refused():
    with pytest.raises(ValueError, match="never be trained on"):
        font_digits.check_disjoint(("dejavu/DejaVuSans.ttf", "sjfonts/Delphine.ttf"))
    # Another face of an evaluation family counts as the same hand.
    with pytest.raises(ValueError):
        font_digits.check_disjoint(("dancingscript/DancingScript-Bold.otf",))


def test_training_and_validation_fonts_are_disjoint_from_evaluation_and_each_other():
    font_digits.check_disjoint(font_digits.TRAINING_FONTS + font_digits.VALIDATION_FONTS)
    assert not set(font_digits.TRAINING_FONTS) & set(font_digits.VALIDATION_FONTS)
    assert not set(font_digits.TRAINING_FONTS) & set(HANDWRITING_FONTS)


def test_font_digits_look_like_served_inputs():
    fonts = font_digits.installed(font_digits.TRAINING_FONTS)[:2]
    if not fonts:
        pytest.skip("no training fonts installed")
    digits = font_digits.font_digit_set(fonts, per_digit=2, seed=3)
    assert digits.images.shape == (len(digits.fonts) * 20, 28, 28)
    assert digits.images.dtype == np.float32
    assert digits.images.min() >= 0 and digits.images.max() == pytest.approx(1.0)
    assert sorted(set(digits.labels.tolist())) == list(range(10))
    for image in digits.images:
        rows = np.flatnonzero(image.any(axis=1))
        cols = np.flatnonzero(image.any(axis=0))
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 21  # 20x20 box (+1 for rounding)
        cy, cx = ndi.center_of_mass(image)
        assert abs(cy - 14) <= 1.5 and abs(cx - 14) <= 1.5
    again = font_digits.font_digit_set(fonts, per_digit=2, seed=3)
    np.testing.assert_array_equal(digits.images, again.images)


@pytest.mark.parametrize(
    "name",
    ["kristi/Kristi.ttf", "ecolier-court/ecl_cour.ttf", "ecolier-lignes-court/ecl_ligc.ttf", "kiloji/kiloji.ttf"],
)
def test_fonts_reserved_for_independent_measurement_are_refused(name: str) -> None:
    from training.data.realistic import RESERVED_FONT_FAMILIES, installed_fonts

    with pytest.raises(ValueError, match="reserved"):
        installed_fonts((name,))
    with pytest.raises(ValueError, match="reserved"):
        font_digits.installed((name,))
    ours = font_digits.VALIDATION_FONTS + font_digits.NON_DIGIT_VALIDATION_FONTS + font_digits.TRAINING_FONTS
    assert not any(family in font.lower() for font in ours for family in RESERVED_FONT_FAMILIES)
