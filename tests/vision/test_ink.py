"""What counts as ink: faint strokes that join a digit, digits that fill their frame, drawings read
without estimating paper (vision/ink.py)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from recognizer.vision import ink as ink_module
from recognizer.vision.components import ink_components
from recognizer.vision.digit import to_model_input
from recognizer.vision.ink import drawn_background, ink_map
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


# --- drawings: a canvas or a clean digital image, read without estimating paper ---------------


def _drawn_seven(background: int, ink: int, size: int = 280, width: int = 18) -> Image.Image:
    """A "7" as the site's canvas draws it: round-capped anti-aliased strokes on a flat background
    (drawn at 4x and shrunk, which makes the strokes' soft edges)."""
    big = Image.new("L", (size * 4, size * 4), background)
    draw = ImageDraw.Draw(big)
    points = [(70 * 4, 60 * 4), (210 * 4, 60 * 4), (120 * 4, 230 * 4)]
    draw.line(points, fill=ink, width=width * 4, joint="curve")
    return big.resize((size, size), Image.Resampling.LANCZOS)


def _grey_of(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float32) / 255.0


def test_a_drawings_background_is_its_one_flat_level() -> None:
    assert drawn_background(_grey_of(_drawn_seven(0, 255))) == 0.0  # the canvas: white on black
    assert drawn_background(_grey_of(_drawn_seven(255, 20))) == 1.0
    blank = _grey_of(Image.new("L", (64, 64), 128))
    assert drawn_background(blank) == blank[0, 0]  # blank: flat all over; the level exactly as the map has it


def test_a_digit_filling_most_of_the_frame_is_no_background() -> None:
    """Its ink is the commonest level, but the frame around it is not."""
    image = Image.new("L", (100, 100), 0)
    ImageDraw.Draw(image).rectangle([(10, 10), (89, 89)], fill=255)
    assert drawn_background(_grey_of(image)) is None


def test_paper_noise_or_shading_is_no_drawing() -> None:
    rng = np.random.default_rng(0)
    grey = _grey_of(_drawn_seven(230, 30)).astype(np.float64)
    noisy = np.clip(np.rint(grey * 255 + rng.normal(0, 1.5, grey.shape)), 0, 255) / 255
    assert drawn_background(noisy.astype(np.float32)) is None  # a scan's sensor noise
    shaded = np.clip(np.rint(grey * 255 - np.linspace(0, 40, grey.shape[1])[None, :]), 0, 255) / 255
    assert drawn_background(shaded.astype(np.float32)) is None  # light falling off across a photo


@pytest.mark.parametrize(("background", "ink", "dark"), [(0, 255, False), (255, 20, True), (200, 40, True)])
def test_a_drawing_is_read_as_the_generic_path_reads_it(
    monkeypatch: pytest.MonkeyPatch, background: int, ink: int, dark: bool
) -> None:
    """The same ink and polarity (within the paper estimate's float noise), with no paper,
    lighting, noise or polarity votes worked out (those steps fail here if they are called)."""
    image = _drawn_seven(background, ink)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ink_module, "drawn_background", lambda grey: None)
        generic, generic_input = ink_map(image), to_model_input(image)
    for step in ("paper_of", "ink_is_dark", "denoised"):
        monkeypatch.setattr(ink_module, step, _never_called(step))
    drawn = ink_map(image)
    assert drawn.dark_ink is dark and generic.dark_ink is dark
    assert np.abs(drawn.ink - generic.ink).max() < 0.05
    assert drawn.contrast == pytest.approx(generic.contrast, abs=0.01)
    assert np.abs(to_model_input(image) - generic_input).max() < 0.05


def test_a_blank_canvas_is_blank() -> None:
    assert ink_map(Image.new("L", (280, 280), 0)).is_blank


def _never_called(name: str):
    def fail(*args, **kwargs):
        raise AssertionError(f"{name} was called for a drawing")

    return fail
