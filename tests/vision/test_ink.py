"""What counts as ink: faint strokes that join a digit, digits that fill their frame (vision/ink.py)."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from recognizer.vision.components import ink_components
from recognizer.vision.digit import to_model_input
from recognizer.vision.ink import ink_map
from recognizer.vision.strokes import INK_LEVEL


def _four(join_grey: int, join_width: int, mark_grey: int | None = None, stroke: int = 2) -> Image.Image:
    """A "4" in dark fine-pen strokes whose slanted join is a hairline of ``join_grey``, and
    maybe a faint mark of ``mark_grey`` away from it."""
    image = Image.new("L", (240, 240), 235)
    draw = ImageDraw.Draw(image)
    draw.line([(60, 150), (180, 150)], fill=30, width=stroke)  # the bar
    draw.line([(150, 40), (150, 210)], fill=30, width=stroke)  # the stem
    draw.line([(148, 42), (64, 146)], fill=join_grey, width=join_width)  # the hairline join
    if mark_grey is not None:
        draw.ellipse([(20, 20), (34, 34)], fill=mark_grey)
    return image


def _join_kept(image: Image.Image) -> float:
    """The share of the join's middle found as ink (the map is at the image's scale)."""
    ink = ink_map(image).ink
    points = [(round(148 + t * (64 - 148)), round(42 + t * (146 - 42))) for t in np.linspace(0.2, 0.8, 25)]
    return float(np.mean([ink[y - 1 : y + 2, x - 1 : x + 2].max() >= INK_LEVEL for x, y in points]))


def test_a_faint_hairline_join_stays_part_of_the_digit() -> None:
    assert _join_kept(_four(join_grey=30, join_width=2)) == 1.0
    assert _join_kept(_four(join_grey=175, join_width=2)) == 1.0  # under a third of the strokes' contrast
    assert len(ink_components(ink_map(_four(join_grey=175, join_width=2)).ink)[1]) == 1


def test_a_markers_faint_fringe_is_left_as_it_was() -> None:
    """Wide strokes keep their ink: a faint join beside them is not a fine pen's."""
    assert _join_kept(_four(join_grey=175, join_width=2, stroke=12)) == 0.0


def test_a_faint_mark_on_its_own_stays_paper() -> None:
    ink = ink_map(_four(join_grey=30, join_width=2, mark_grey=175)).ink
    assert not (ink[10:40, 10:40] >= INK_LEVEL).any()


def test_a_digit_filling_its_frame_is_not_taken_for_blank_paper() -> None:
    """A low-resolution scan cropped to the digit: ink over half the frame."""
    image = Image.new("L", (9, 8), 240)
    draw = ImageDraw.Draw(image)
    draw.ellipse([(0, 0), (7, 8)], outline=25, width=2)
    enlarged = image.resize((72, 81), Image.Resampling.BICUBIC)
    field = to_model_input(enlarged)
    assert field.max() == 1.0
    assert field[4:24, 4:24].mean() > 0.15  # a ring, not a speck
