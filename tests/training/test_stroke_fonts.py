"""Hershey pen fonts: parsing, the European forms of 1 and 7, and written glyphs as ink."""

from __future__ import annotations

import numpy as np
import pytest

from training.data import stroke_fonts
from training.data.stroke_fonts import Glyph, european, parse_jhf, written

# futural.jhf's "!": a bar, the pen lifted, a dot drawn as a small loop.
EXCLAMATION = "12345  9MWRFRT RRYQZR[SZRY"
SEVEN = Glyph("7", (np.array([[-7.0, -12.0], [7.0, -12.0], [-3.0, 9.0]]),))
ONE = Glyph("1", (np.array([[-4.0, -8.0], [1.0, -12.0], [1.0, 9.0]]),))


def test_parse_jhf_reads_strokes_and_pen_lifts():
    (strokes,) = parse_jhf(EXCLAMATION + "\n")
    assert [s.tolist() for s in strokes] == [
        [[0, -12], [0, 2]],
        [[0, 7], [-1, 8], [0, 9], [1, 8], [0, 7]],
    ]


def test_european_seven_is_crossed_and_one_gets_a_flag():
    rng = np.random.default_rng(0)
    crossed = european(SEVEN, rng)
    assert len(crossed.strokes) == 2
    bar = crossed.strokes[1]
    assert bar[0, 1] == bar[1, 1] and -12 < bar[0, 1] < 9  # level, between the top and the foot
    ones = [european(ONE, np.random.default_rng(seed)) for seed in range(20)]
    assert all(one.strokes[0][0, 0] < -4 for one in ones)  # a longer flag, to the left
    assert any(len(one.strokes) == 2 for one in ones) and any(len(one.strokes) == 1 for one in ones)  # foot or not
    other = Glyph("4", SEVEN.strokes)
    assert european(other, rng) is other


def test_written_glyphs_are_ink_from_hairline_to_marker():
    widths = []
    for seed in range(12):
        ink = written(SEVEN, np.random.default_rng(seed))
        assert ink.dtype == np.float32 and ink.max() == pytest.approx(1.0)
        widths.append((ink > 0.5).sum())
    assert max(widths) > 3 * min(widths)  # pens of very different widths


@pytest.mark.skipif(not stroke_fonts.installed(), reason="the Debian package hershey-fonts-data is not installed")
def test_digit_set_has_every_digit_of_every_latin_font():
    images, labels = stroke_fonts.digit_set(1, seed=0)
    assert images.shape == (10 * len(stroke_fonts.LATIN), 28, 28)
    assert sorted(set(labels.tolist())) == list(range(10))
    # Bars are left out of the letters and symbols: no glyph four times as tall as wide.
    for glyph in stroke_fonts.glyphs(stroke_fonts.LATIN, "l|!"):
        points = np.vstack(glyph.strokes)
        width, height = points.max(0) - points.min(0)
        assert height <= 4 * max(width, 1.0)
