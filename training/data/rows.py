"""Rows of 2 to 6 handwritten MNIST test digits on paper, as people photograph or scan numbers.

Each row is a seeded image file (mostly JPEG) with its true number and the box of every digit
in the file's pixels. Kinds:

- ``spaced``: clear gaps between the digits;
- ``close``: small gaps, some digits nearly or just touching;
- ``touching``: at least one pair of neighbours whose ink touches or overlaps;
- ``ruled``: ruled notebook paper, the lines crossing the digits;
- ``photo``: tinted paper, uneven light, a shadow, a little blur;
- ``mnist_strip``: the 28x28 MNIST images side by side, white on black (PNG);
- ``overlapping`` (issue #16): neighbours touch, and many overlap by up to a quarter of the
  narrower one's width;
- ``angled`` (issue #16): a house or meter number photographed at an angle: digits of uneven
  heights off a common baseline, the whole row rotated (+-12 degrees) and sheared (+-0.35),
  uneven light and a shadow;
- ``signed`` (issue #25): a number with a leading minus, a decimal point or comma, or both
  ("-12.5", "3,07"), on plain or photographed paper, sometimes with dots of dirt that are no
  sign (``training.data.signs``). Any other kind but MNIST strips takes signs and dirt on
  request (``make_row(..., signs=True, dirt=True)``), as the row reader's training rows do;
- ``marked`` (issue #25): one mark that is no digit among the digits (a letter or symbol in a
  handwriting font no model trained on, or a scribble or hatching in the evaluation's style), as
  tall as a digit; the true number is the digits alone. Scored apart: is the mark left out?

Digits vary in size (+-15%) and sit slightly off a common baseline. The paper, light, lines
and JPEG come from ``training.data.realistic`` (the single-digit uploads use the same ones).
Used by ``training.evaluation.evaluate_rows`` and the tests; the serving code never imports it.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from recognizer.vision.rows.cuts import stroke_px
from training.data.realistic import (
    Rng,
    _dark_ink_colour,
    _encode,
    _grain,
    _ink_onto,
    _jpeg,
    _lighting,
    _rgb_paper,
    _ruled_lines,
    _shadow,
    _to_image,
    mnist_glyph,
)
from training.data.signs import add_dirt, sign_glyph

KINDS = ("spaced", "close", "touching", "ruled", "photo", "mnist_strip", "overlapping", "angled", "signed", "marked")
FIRST_KINDS = KINDS[:6]  # what evaluate_rows reports by default, comparable from round to round
MIN_DIGITS, MAX_DIGITS = 2, 6
TOUCH_LEVEL = 0.5  # ink from which two digits count as touching

# Gap between neighbouring digits' ink boxes, as a fraction of the digit height.
GAPS = {
    "spaced": (0.25, 0.7),
    "close": (0.0, 0.2),
    "touching": (0.04, 0.3),
    "ruled": (0.08, 0.5),
    "photo": (0.1, 0.5),
    "overlapping": (0.04, 0.3),
    "angled": (0.05, 0.45),
    "signed": (0.08, 0.45),
    "marked": (0.15, 0.5),
}
STRAY_CHARACTERS = "ACEFHKLMNPRUVWXYaefhkmnprtuvwxy#&@%$?+=*<>"  # no "-", ".", ",": those are signs
# The row reader's training marks: the digit network's non-digit characters less the sign-like
# ones ("-", "_", "~": a minus), and its drawings less textures (no row holds a texture).
TRAINING_STRAY_CHARACTERS = "ACEFHKLMNPRTUVWXYaefhkmnprtuvwxy#&@%$?+=*<>"
STYLED_STRAY_SHARE = 0.5  # letters and symbols given a hand style before they go in a row
TRAINING_STRAY_DRAWINGS = ("scribble", "zigzag", "loops", "spiral", "strokes", "hatching", "shape")
SIGN_GAPS = {"-": (0.05, 0.35), ".": (0.03, 0.2), ",": (0.03, 0.2)}  # a sign and its next digit


@dataclass(frozen=True)
class Row:
    kind: str
    number: str  # the number as written: its digits, with its signs ("-12.5") where it has some
    data: bytes  # the image file
    boxes: tuple[tuple[int, int, int, int], ...]  # x, y, w, h of each digit's ink, file pixels
    marks: tuple[tuple[str, tuple[int, int, int, int]], ...] = ()  # each sign and its ink's box


@dataclass(frozen=True)
class Layout:
    """Digits' ink placed on one canvas (alpha in [0, 1]) and where each one went."""

    alpha: np.ndarray
    boxes: tuple[tuple[int, int, int, int], ...]


def _touching_shift(canvas: np.ndarray, ink: np.ndarray, x: int, y: int) -> int:
    """How far right of ``x`` the ink can go and just touch what the canvas holds (may be <0)."""
    h, w = ink.shape
    rows = slice(y, y + h)
    placed = canvas[rows] >= TOUCH_LEVEL
    mine = ink >= TOUCH_LEVEL
    have_placed, have_mine = placed.any(axis=1), mine.any(axis=1)
    both = have_placed & have_mine
    if not both.any():
        return 0
    rightmost = placed.shape[1] - 1 - np.argmax(placed[:, ::-1], axis=1)
    leftmost = x + np.argmax(mine, axis=1)
    # The ink touches (8-connected) when a row's leftmost pixel is next to the rightmost one.
    return int(np.min((leftmost - rightmost)[both])) - 1


def layout_digits(
    glyphs: list[np.ndarray],
    height: int,
    gaps: list[float],
    touch: list[bool],
    rng: Rng,
    overlap: list[float] | None = None,
    baseline_jitter: float = 0.08,
) -> Layout:
    """Place ink crops left to right; ``touch[i]``: digit i+1 slides left until it meets digit i,
    then ``overlap[i]`` of the narrower one's width further."""
    jitter = [int(rng.uniform(-baseline_jitter, baseline_jitter) * height) for _ in glyphs]
    margin_x = int(rng.uniform(0.3, 0.9) * height) + 2
    margin_y = int(rng.uniform(0.3, 0.8) * height) + 2
    tallest = max(g.shape[0] for g in glyphs)
    width = margin_x * 2 + sum(g.shape[1] for g in glyphs) + int(sum(max(0.0, g) for g in gaps) * height) + 4
    canvas = np.zeros((tallest + 2 * margin_y + 2 * abs(max(jitter, key=abs)) + 2, width), np.float32)
    baseline = canvas.shape[0] // 2
    boxes = []
    cursor = margin_x
    for index, ink in enumerate(glyphs):
        h, w = ink.shape
        y = baseline - h // 2 + jitter[index]
        x = cursor
        if index > 0:
            x += int(gaps[index - 1] * height)
            if touch[index - 1]:
                x -= _touching_shift(canvas, ink, x, y)
                x -= int(rng.integers(0, max(1, height // 25) + 1))  # a little overlap at times
                if overlap is not None:
                    x -= int(overlap[index - 1] * min(w, glyphs[index - 1].shape[1]))
        x = max(0, x)
        canvas[y : y + h, x : x + w] = np.maximum(canvas[y : y + h, x : x + w], ink)
        boxes.append((x, y, w, h))
        cursor = max(cursor, x + w)
    right = cursor + margin_x
    return Layout(alpha=canvas[:, :right], boxes=tuple(boxes))


def _render_glyphs(
    images: np.ndarray, labels: np.ndarray, height: int, rng: Rng, spread: float = 0.15
) -> list[np.ndarray]:
    glyphs = []
    for image, label in zip(images, labels, strict=True):
        size = int(round(height * rng.uniform(1 - spread, 1 + spread)))
        glyphs.append(mnist_glyph(image, int(label)).render(size, rng))
    return glyphs


def _paper_row(layout: Layout, rng: Rng, kind: str) -> Image.Image:
    shape = layout.alpha.shape
    if kind == "ruled":
        paper = _rgb_paper(shape, rng, base=240, spread=12)
        spacing = float(rng.uniform(0.5, 1.0) * max(b[3] for b in layout.boxes))
        colour = [(120, 170, 230), (150, 150, 150), (100, 150, 200), (170, 190, 220)][int(rng.integers(4))]
        paper = _ink_onto(paper, _ruled_lines(shape, rng, spacing, False, rng.uniform(-2, 2)), colour)
        pixels = _ink_onto(paper, layout.alpha, _dark_ink_colour(rng))
        pixels *= _lighting(shape, rng, rng.uniform(0.0, 0.2))[..., None]
        pixels += _grain((*shape, 3), rng, rng.uniform(1, 4))
    elif kind in ("photo", "angled"):
        paper = _rgb_paper(shape, rng, base=225, spread=25)
        pixels = _ink_onto(paper, layout.alpha, _dark_ink_colour(rng))
        light = _lighting(shape, rng, rng.uniform(0.15, 0.4)) * _shadow(shape, rng, rng.uniform(0.2, 0.5))
        pixels *= light[..., None]
        pixels = ndi.gaussian_filter(pixels, sigma=(rng.uniform(0.3, 1.0), rng.uniform(0.3, 1.0), 0))
        pixels += _grain((*shape, 3), rng, rng.uniform(2, 6))
    else:
        paper = np.full(shape, rng.uniform(215, 252), dtype=np.float32)
        pixels = _ink_onto(paper, layout.alpha, rng.uniform(0, 70))
        pixels += _grain(shape, rng, rng.uniform(0.5, 5))
    return _to_image(pixels)


def at_an_angle(layout: Layout, rotation: float, shear: float) -> Layout:
    """The row sheared by ``shear`` (x += shear * y) then rotated by ``rotation`` degrees
    (anticlockwise), on a canvas grown to hold it; each box becomes its transformed corners' box."""
    angle = np.deg2rad(rotation)
    forward = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]]) @ np.array(
        [[1.0, shear], [0.0, 1.0]]
    )  # (x, y) -> (x', y'), y pointing down
    height, width = layout.alpha.shape
    corners = np.array([[0, 0], [width, 0], [0, height], [width, height]], dtype=float) @ forward.T
    low = corners.min(axis=0)
    size = np.ceil(corners.max(axis=0) - low).astype(int) + 1
    inverse = np.linalg.inv(forward)
    shift = inverse @ low  # output (0, 0) comes from input inverse @ (0 + low)
    coefficients = (inverse[0, 0], inverse[0, 1], shift[0], inverse[1, 0], inverse[1, 1], shift[1])
    image = Image.fromarray(layout.alpha, mode="F")
    out = image.transform((int(size[0]), int(size[1])), Image.Transform.AFFINE, coefficients, Image.Resampling.BILINEAR)
    boxes = []
    for x, y, w, h in layout.boxes:
        box_corners = np.array([[x, y], [x + w, y], [x, y + h], [x + w, y + h]], dtype=float) @ forward.T - low
        x0, y0 = np.floor(box_corners.min(axis=0)).astype(int)
        x1, y1 = np.ceil(box_corners.max(axis=0)).astype(int)
        boxes.append((int(x0), int(y0), int(x1 - x0), int(y1 - y0)))
    return Layout(alpha=np.clip(np.asarray(out, dtype=np.float32), 0, 1), boxes=tuple(boxes))


def _ink_box(image: np.ndarray, offset: int) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
    return offset + int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def mnist_strip(images: np.ndarray) -> bytes:
    """The MNIST images themselves side by side (white on black), as a PNG."""
    return _encode(Image.fromarray(np.hstack(list(images)), mode="L"), "PNG")


def _scaled_to(ink: np.ndarray, height: int) -> np.ndarray:
    factor = height / max(ink.shape)
    size = (max(1, round(ink.shape[1] * factor)), max(1, round(ink.shape[0] * factor)))
    scaled = np.asarray(Image.fromarray(ink.astype(np.float32), mode="F").resize(size, Image.Resampling.BILINEAR))
    return np.clip(scaled, 0.0, 1.0).astype(np.float32)


def stray_mark(height: int, rng: Rng) -> np.ndarray:
    """A mark that is no digit, as an ink crop ``height`` tall at most: a letter or symbol in a
    handwriting font of the evaluation's (``realistic.HANDWRITING_FONTS``), or, without them, a
    drawing in the evaluation's style."""
    from PIL import ImageFont

    from recognizer.vision.digit import crop_to_ink
    from training.data import non_digits
    from training.data.realistic import handwriting_fonts

    fonts = handwriting_fonts()
    ink = None
    if fonts and rng.random() < 0.7:
        face = ImageFont.truetype(str(fonts[int(rng.integers(len(fonts)))]), 64)
        char = STRAY_CHARACTERS[int(rng.integers(len(STRAY_CHARACTERS)))]
        if non_digits.has_glyph(face, char, 64):
            ink = non_digits.varied(crop_to_ink(non_digits.text_ink(char, face, 64), level=0.02), rng, 0.2, 8)
    if ink is None:
        name = ("zigzag", "loops", "hatching", "strokes")[int(rng.integers(4))]
        ink = crop_to_ink(non_digits.drawing(name, rng, non_digits.EVALUATION_STYLE), level=0.02)
    return _scaled_to(ink, height)


@functools.cache
def _training_mark_sources() -> tuple[list[Path], dict[str, list]]:
    """The training fonts installed here and the pen glyphs of each stray character (read once:
    parsing the Hershey files for every mark would cost more than drawing it)."""
    from training.data import font_digits, stroke_fonts

    pens = {c: stroke_fonts.glyphs(stroke_fonts.LATIN, c) for c in TRAINING_STRAY_CHARACTERS}
    return font_digits.installed(font_digits.TRAINING_FONTS), pens


def training_stray_mark(height: int, rng: Rng) -> np.ndarray:
    """A mark that is no digit from the training sources only, as ``stray_mark`` gives: a letter
    or symbol in a training font (``font_digits.TRAINING_FONTS``) or written with a pen (the
    Hershey fonts, ``stroke_fonts``), half of those in a training hand style, or a scribble,
    hatching, spiral or shape in the training style. For the row reader to learn to read nothing
    there."""
    from PIL import ImageFont

    from recognizer.vision.digit import crop_to_ink
    from training.data import non_digits, stroke_fonts

    char = TRAINING_STRAY_CHARACTERS[int(rng.integers(len(TRAINING_STRAY_CHARACTERS)))]
    fonts, pens = _training_mark_sources()
    ink = None
    pick = rng.random()
    if pick < 0.35 and fonts:
        face = ImageFont.truetype(str(fonts[int(rng.integers(len(fonts)))]), 64)
        if non_digits.has_glyph(face, char, 64):
            ink = non_digits.varied(crop_to_ink(non_digits.text_ink(char, face, 64), level=0.02), rng, 0.2, 8)
    elif pick < 0.6 and pens.get(char):
        ink = crop_to_ink(stroke_fonts.written(pens[char][int(rng.integers(len(pens[char])))], rng), level=0.02)
    if ink is None:
        name = TRAINING_STRAY_DRAWINGS[int(rng.integers(len(TRAINING_STRAY_DRAWINGS)))]
        ink = crop_to_ink(non_digits.drawing(name, rng, non_digits.TRAINING_STYLE), level=0.02)
    elif rng.random() < STYLED_STRAY_SHARE:
        ink = _in_a_hand_style(ink, rng)
    return _scaled_to(ink, height)


def _in_a_hand_style(ink: np.ndarray, rng: Rng) -> np.ndarray:
    """A letter's ink in one of the training digits' hand styles (``styled_digits.STYLES``:
    slanted, broad nib, low resolution): unseen hands write letters that way too."""
    from recognizer.errors import NoDigitFound
    from recognizer.vision.digit import crop_to_ink
    from training.data.realistic import ink_glyph
    from training.data.styled_digits import STYLES

    style = list(STYLES.values())[int(rng.integers(len(STYLES)))]
    styled = style(ink_glyph(ink), rng)
    try:
        return crop_to_ink(styled, level=0.02)
    except NoDigitFound:  # a style that left no ink (a thin mark in a few pixels): keep it as it was
        return ink


def written_signs(digits: str, rng: Rng) -> str:
    """``digits`` with signs written in: a leading minus, a point or comma between two digits,
    or both (a comma one time in four)."""
    lead = rng.random() < 0.55
    pointed = len(digits) >= 2 and (not lead or rng.random() < 0.4)
    if pointed:
        at = int(rng.integers(1, len(digits)))
        digits = digits[:at] + ("," if rng.random() < 0.25 else ".") + digits[at:]
    return "-" + digits if lead or not pointed else digits


def _ink_box_within(ink: np.ndarray, crop_box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero((ink > 0.1).any(axis=1)), np.flatnonzero((ink > 0.1).any(axis=0))
    x, y = crop_box[0], crop_box[1]
    return x + int(cols[0]), y + int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def make_row(
    kind: str,
    images: np.ndarray,
    labels: np.ndarray,
    rng: Rng,
    signs: bool = False,
    dirt: bool = False,
    stray: bool = False,
) -> Row:
    """One row of the given MNIST digits as an image file of ``kind`` (``signed`` rows, and any
    with ``signs``, have signs written in; ``dirt``: dots of dirt added; ``stray``: a mark that is
    no digit from the training sources among the digits, as ``marked`` rows have one from the
    evaluation's)."""
    number = "".join(str(int(label)) for label in labels)
    if kind == "mnist_strip":
        boxes = tuple(_ink_box(image, offset=28 * i) for i, image in enumerate(images))
        return Row(kind, number, mnist_strip(images), boxes)
    height = int(rng.integers(28, 120))
    digit_glyphs = _render_glyphs(images, labels, height, rng, spread=0.25 if kind == "angled" else 0.15)
    if signs or kind == "signed":
        number = written_signs(number, rng)
    stroke = float(np.median([stroke_px(g >= 0.5) for g in digit_glyphs]))
    typical = int(np.median([g.shape[0] for g in digit_glyphs]))
    if kind == "marked" or stray:  # the stray mark stands as "?" in the layout, and leaves the number after
        at = int(rng.integers(0, len(number) + 1))
        number = number[:at] + "?" + number[at:]
    pending = iter(digit_glyphs)
    glyphs = [
        next(pending)
        if c.isdigit()
        else (stray_mark if kind == "marked" else training_stray_mark)(typical, rng)
        if c == "?"
        else sign_glyph(c, typical, stroke, rng)
        for c in number
    ]
    low, high = GAPS[kind]
    gaps = []
    for left, right in itertools.pairwise(number):
        sign = next((c for c in (left, right) if c in SIGN_GAPS), None)
        gaps.append(float(rng.uniform(*SIGN_GAPS[sign])) if sign else float(rng.uniform(low, high)))
    signed_pair = [not (a.isdigit() and b.isdigit()) for a, b in itertools.pairwise(number)]
    overlap = None
    if kind == "overlapping":
        touch = [bool(rng.random() < 0.6) for _ in gaps]
        touch[int(rng.integers(len(touch)))] = True
        overlap = [float(rng.uniform(0.0, 0.25)) if t else 0.0 for t in touch]
    elif kind == "touching":
        touch = [bool(rng.random() < 0.35) for _ in gaps]
        touch[int(rng.integers(len(touch)))] = True
    elif kind == "close":
        touch = [bool(rng.random() < 0.1) for _ in gaps]
    else:
        touch = [False] * len(gaps)
    touch = [t and not s for t, s in zip(touch, signed_pair, strict=True)]  # signs stand apart
    if overlap is not None:
        overlap = [o if t else 0.0 for o, t in zip(overlap, touch, strict=True)]
    layout = layout_digits(
        glyphs, height, gaps, touch, rng, overlap=overlap, baseline_jitter=0.15 if kind == "angled" else 0.08
    )
    if dirt:
        layout = Layout(add_dirt(layout.alpha, layout.boxes, stroke, rng), layout.boxes)
    placed = list(layout.boxes)
    marks = tuple(
        (c, _ink_box_within(glyph, box)) for c, glyph, box in zip(number, glyphs, placed, strict=True) if c in SIGN_GAPS
    )
    if kind == "angled":
        rotation, shear = float(rng.uniform(-12, 12)), float(rng.uniform(-0.35, 0.35))
        count = len(layout.boxes)
        turned = at_an_angle(Layout(layout.alpha, layout.boxes + tuple(box for _, box in marks)), rotation, shear)
        layout = Layout(turned.alpha, turned.boxes[:count])
        marks = tuple((symbol, box) for (symbol, _), box in zip(marks, turned.boxes[count:], strict=True))
    digit_boxes = tuple(box for c, box in zip(number, layout.boxes, strict=True) if c.isdigit())
    number = number.replace("?", "")
    paper = "photo" if kind == "signed" and rng.random() < 0.5 else kind
    image = _paper_row(layout, rng, paper)
    data = _jpeg(image, rng, 60, 92) if rng.random() < 0.8 else _encode(image, "PNG")
    return Row(kind, number, data, digit_boxes, marks)


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    shared = max(0.0, width) * max(0.0, height)
    return shared / float(a[2] * a[3] + b[2] * b[3] - shared)


def covered_digit(box: Sequence[float], truth: Sequence[Sequence[float]], least_iou: float) -> int | None:
    """The index of the one true digit box whose centre ``box`` holds (its columns), if the two
    overlap by ``least_iou`` or more; None when it holds no centre, several, or too little."""
    centres = [i for i, t in enumerate(truth) if box[0] <= t[0] + t[2] / 2 < box[0] + box[2]]
    if len(centres) == 1 and box_iou(box, truth[centres[0]]) >= least_iou:
        return centres[0]
    return None


def row_rng(seed: int, kind: str, index: int) -> Rng:
    return np.random.default_rng([seed, KINDS.index(kind), index])


def make_rows(
    images: np.ndarray,
    labels: np.ndarray,
    count: int,
    kinds: tuple[str, ...] = KINDS,
    seed: int = 0,
    signs: float = 0.0,
    dirt: float = 0.0,
    strays: float = 0.0,
) -> Iterator[Row]:
    """``count`` rows, kinds in turn, 2-6 digits each drawn from ``images`` (seeded); a share
    ``signs`` of them with signs written in, ``dirt`` with dots of dirt, ``strays`` with a
    stray mark from the training sources (drawn apart, so a kind's rows are the same whatever
    the shares)."""
    for index in range(count):
        kind = kinds[index % len(kinds)]
        rng = row_rng(seed, kind, index)
        extras = np.random.default_rng([seed, len(KINDS), index]).random(3)
        length = int(rng.integers(MIN_DIGITS, MAX_DIGITS + 1))
        chosen = rng.choice(len(images), size=length, replace=False)
        yield make_row(
            kind,
            images[chosen],
            labels[chosen],
            rng,
            signs=extras[0] < signs,
            dirt=extras[1] < dirt,
            stray=extras[2] < strays,
        )
