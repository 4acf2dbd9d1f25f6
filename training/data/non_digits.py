"""Things that are not digits: letters, symbols, scribbles, shapes and textures, as ink.

The network learns an eleventh class, "not a digit" (``NOT_A_DIGIT``), from these, and the
evaluation measures how many of them the service refuses. Each generator gives ink: float32
[H, W] in [0, 1], 1 = ink, white on black, of any size; ``normalised`` turns it into what the
served network is fed, through the service's own ``normalize_digit``.

Digit-like characters are neither trained nor scored as non-digits (``AMBIGUOUS``): a hand
writes "O" and "0", "l" and "1", "S" and "5", "Z" and "2", "B" and "8", "G"/"b" and "6",
"q"/"g" and "9" alike, and a service that refused them would refuse real digits. Circles,
squares and single straight strokes are left out of the shapes for the same reason (0 and 1).

Scribbles, shapes and textures are drawn with seeded randomness; ``style`` picks generator
settings that differ between training and evaluation (``TRAINING_STYLE``, ``EVALUATION_STYLE``)
so that the evaluation's scribbles are not the training's with another seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from recognizer.storage import NOT_A_DIGIT_LABEL
from recognizer.vision.digit import crop_to_ink, normalize_digit
from training.data.realistic import stroke_px, thicken

NOT_A_DIGIT = NOT_A_DIGIT_LABEL
Rng = np.random.Generator

# Hands write these like digits: never taught or scored as "not a digit".
AMBIGUOUS = frozenset("OoQDIlijJTa|!/\\()[]{}ZzSsbGBqg,.'`:;\"")
LETTERS = "".join(c for c in "ACEFHKLMNPRTUVWXYaefhkmnprtuvwxy" if c not in AMBIGUOUS)
SYMBOLS = "#&@%$?+=*<>~^-_"
CHARACTERS = LETTERS + SYMBOLS
# Taught, never scored (the evaluation's letters stay LETTERS): a "t" is a "+" with a hook.
TRAINING_ONLY = "t"
# Unseen hands' least refused letters and symbols (issue #24): drawn three times as often.
HARD = "CLtyu?>+"


@dataclass(frozen=True)
class Style:
    """Generator settings; training and evaluation use different ones."""

    curve_points: tuple[int, int]  # a scribble's control points (inclusive range)
    width: tuple[float, float]  # pen width, as a share of the canvas
    strokes: tuple[int, int]  # pen strokes in a "strokes" scribble


TRAINING_STYLE = Style(curve_points=(7, 12), width=(0.03, 0.09), strokes=(3, 6))
EVALUATION_STYLE = Style(curve_points=(8, 13), width=(0.025, 0.1), strokes=(3, 7))

CANVAS = 96


# Characters ---------------------------------------------------------------------------------


def text_ink(text: str, face: ImageFont.FreeTypeFont, size: int) -> np.ndarray:
    canvas = Image.new("L", (size * 3, size * 2), 0)
    ImageDraw.Draw(canvas).text((size // 2, size // 4), text, font=face, fill=255)
    return np.asarray(canvas, dtype=np.float32) / 255.0


def has_glyph(face: ImageFont.FreeTypeFont, char: str, size: int) -> bool:
    """A font without ``char`` draws nothing or its 'missing' box (the same as for U+FFFF)."""
    ink = text_ink(char, face, size)
    return bool(ink.max() > 0.5) and not np.array_equal(ink, text_ink("\uffff", face, size))


def varied(ink: np.ndarray, rng: Rng, shear: float = 0.35, angle: float = 12.0) -> np.ndarray:
    """Slant, rotation, width and stroke weight at random, as ``font_digits`` varies digits."""
    image = Image.fromarray(np.rint(np.clip(ink, 0, 1) * 255).astype(np.uint8))
    slant = float(rng.uniform(-shear, shear))
    stretch = float(rng.uniform(0.75, 1.25))
    size = image.size[1]
    image = image.transform(
        image.size, Image.Transform.AFFINE, (1 / stretch, slant, -slant * size, 0, 1, 0), Image.Resampling.BICUBIC
    )
    image = image.rotate(float(rng.uniform(-angle, angle)), Image.Resampling.BICUBIC)
    out = crop_to_ink(np.asarray(image, dtype=np.float32) / 255.0, level=0.02)
    radius = float(rng.uniform(-0.3, 0.6)) * stroke_px(out) / 2
    return thicken(out, radius) if abs(radius) >= 0.5 else out


# Pen drawings -------------------------------------------------------------------------------


def _pen(rng: Rng, style: Style) -> int:
    return max(2, round(CANVAS * float(rng.uniform(*style.width))))


def _draw(paths: list[np.ndarray], width: int) -> np.ndarray:
    image = Image.new("L", (CANVAS, CANVAS), 0)
    draw = ImageDraw.Draw(image)
    for path in paths:
        points = [(float(x), float(y)) for x, y in path]
        draw.line(points, fill=255, width=width, joint="curve")
        for x, y in (points[0], points[-1]):  # round pen ends
            draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=255)
    return np.asarray(image, dtype=np.float32) / 255.0


def _spline(points: np.ndarray, per_segment: int = 12) -> np.ndarray:
    """A Catmull-Rom curve through ``points`` [K, 2]: a pen's smooth path."""
    padded = np.vstack([points[:1], points, points[-1:]])
    t = np.linspace(0, 1, per_segment, endpoint=False)[:, None]
    out = []
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1], padded[i], padded[i + 1], padded[i + 2]
        out.append(
            0.5
            * (2 * p1 + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3)
        )
    out.append(padded[-2:-1])
    return np.vstack(out)


def _inside(rng: Rng, count: int) -> np.ndarray:
    margin = CANVAS * 0.12
    return rng.uniform(margin, CANVAS - margin, size=(count, 2))


def scribble_curve(rng: Rng, style: Style) -> np.ndarray:
    """One smooth pen path through many random points: a doodle."""
    return _draw(
        [_spline(_inside(rng, int(rng.integers(style.curve_points[0], style.curve_points[1] + 1))))], _pen(rng, style)
    )


def scribble_zigzag(rng: Rng, style: Style) -> np.ndarray:
    """A zigzag or a wave, across or down."""
    count = int(rng.integers(7, 12))
    along = np.linspace(CANVAS * 0.12, CANVAS * 0.88, count)
    across = np.where(np.arange(count) % 2 == 0, CANVAS * 0.3, CANVAS * 0.7) + rng.normal(0, CANVAS * 0.04, count)
    points = np.stack([along, across], axis=1)
    if rng.random() < 0.5:
        points = points[:, ::-1]
    path = _spline(points) if rng.random() < 0.5 else points
    return _draw([path], _pen(rng, style))


def scribble_loops(rng: Rng, style: Style) -> np.ndarray:
    """A chain of cursive loops ("eeee", "llll"), as a pen tests itself."""
    loops = int(rng.integers(3, 6))
    t = np.linspace(0, loops * 2 * np.pi, loops * 24)
    radius = CANVAS * float(rng.uniform(0.12, 0.2))
    x = CANVAS * 0.15 + t / t[-1] * CANVAS * 0.6 + radius * np.cos(t + np.pi)
    y = CANVAS * 0.5 + radius * np.sin(t) * float(rng.uniform(0.8, 1.6))
    return _draw([np.stack([x, y], axis=1)], _pen(rng, style))


def scribble_spiral(rng: Rng, style: Style) -> np.ndarray:
    """A spiral of two to four turns."""
    turns = float(rng.uniform(2.0, 4.0))
    t = np.linspace(0, turns * 2 * np.pi, int(turns * 40))
    radius = CANVAS * 0.42 * (0.12 + 0.88 * t / t[-1])
    sign = 1 if rng.random() < 0.5 else -1
    path = np.stack([CANVAS / 2 + radius * np.cos(sign * t), CANVAS / 2 + radius * np.sin(sign * t)], axis=1)
    return _draw([path], _pen(rng, style))


def scribble_strokes(rng: Rng, style: Style) -> np.ndarray:
    """Several short straight strokes in every direction: a mess."""
    count = int(rng.integers(style.strokes[0], style.strokes[1] + 1))
    return _draw([_inside(rng, 2) for _ in range(count)], _pen(rng, style))


def hatching(rng: Rng, style: Style) -> np.ndarray:
    """Parallel lines at an angle, sometimes crossed by a second set (a grid, a "#")."""
    width = _pen(rng, style)
    paths = []
    for _ in range(1 if rng.random() < 0.4 else 2):
        angle = float(rng.uniform(0, np.pi))
        direction = np.array([np.cos(angle), np.sin(angle)])
        normal = np.array([-direction[1], direction[0]])
        for offset in np.linspace(-0.3, 0.3, int(rng.integers(3, 7))) * CANVAS:
            centre = CANVAS / 2 + normal * offset
            paths.append(np.stack([centre - direction * CANVAS * 0.38, centre + direction * CANVAS * 0.38]))
    return _draw(paths, width)


def _polygon(points: np.ndarray) -> list[np.ndarray]:
    return [np.vstack([points, points[:1]])]


def shape(rng: Rng, style: Style) -> np.ndarray:
    """A drawn shape that no digit resembles: triangle, star, heart, arrow, cross, house, smiley."""
    centre, r = CANVAS / 2, CANVAS * 0.38
    which = rng.integers(7)
    if which == 0:  # triangle
        angles = np.deg2rad(rng.uniform(-20, 20) + np.array([-90, 30, 150]))
        paths = _polygon(np.stack([centre + r * np.cos(angles), centre + r * np.sin(angles)], 1))
    elif which == 1:  # five-pointed star, drawn in one stroke
        angles = np.deg2rad(-90 + np.arange(5) * 144)
        paths = _polygon(np.stack([centre + r * np.cos(angles), centre + r * np.sin(angles)], 1))
    elif which == 2:  # heart
        t = np.linspace(0, 2 * np.pi, 80)
        x = 16 * np.sin(t) ** 3
        y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        paths = [np.stack([centre + x * r / 17, centre + y * r / 17], 1)]
    elif which == 3:  # arrow
        tail, head = np.array([centre - r, centre]), np.array([centre + r, centre])
        barb = r * 0.45
        paths = [
            np.stack([tail, head]),
            np.stack([head + [-barb, -barb], head, head + [-barb, barb]]),
        ]
        turn = float(rng.uniform(0, 2 * np.pi))
        rot = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
        paths = [(p - centre) @ rot.T + centre for p in paths]
    elif which == 4:  # a cross, an "x" with a circle or a box around it
        paths = [
            np.array([[centre - r * 0.7, centre - r * 0.7], [centre + r * 0.7, centre + r * 0.7]]),
            np.array([[centre - r * 0.7, centre + r * 0.7], [centre + r * 0.7, centre - r * 0.7]]),
        ]
        t = np.linspace(0, 2 * np.pi, 60)
        paths.append(np.stack([centre + r * np.cos(t), centre + r * np.sin(t)], 1))
    elif which == 5:  # house
        paths = _polygon(
            np.array([[-r, r], [-r, -r * 0.2], [0, -r], [r, -r * 0.2], [r, r]], dtype=float) * 0.9 + centre
        )
    else:  # smiley
        t = np.linspace(0, 2 * np.pi, 60)
        s = np.linspace(0.15 * np.pi, 0.85 * np.pi, 20)
        paths = [
            np.stack([centre + r * np.cos(t), centre + r * np.sin(t)], 1),
            np.stack([centre + r * 0.55 * np.cos(s), centre + r * 0.55 * np.sin(s)], 1),
            np.array([[centre - r * 0.35, centre - r * 0.3], [centre - r * 0.35, centre - r * 0.2]]),
            np.array([[centre + r * 0.35, centre - r * 0.3], [centre + r * 0.35, centre - r * 0.2]]),
        ]
    jitter = [p + rng.normal(0, CANVAS * 0.012, p.shape) for p in paths]
    return _draw(jitter, _pen(rng, style))


def texture(rng: Rng, style: Style) -> np.ndarray:
    """Blotches or a field of dots: a stain, a pattern, a piece of textured paper."""
    if rng.random() < 0.5:
        from scipy import ndimage

        noise = ndimage.gaussian_filter(rng.normal(size=(CANVAS, CANVAS)), float(rng.uniform(2.5, 6)))
        return (noise > np.quantile(noise, float(rng.uniform(0.7, 0.85)))).astype(np.float32)
    count = int(rng.integers(12, 40))
    image = Image.new("L", (CANVAS, CANVAS), 0)
    draw = ImageDraw.Draw(image)
    for x, y in _inside(rng, count):
        d = float(rng.uniform(2, 6))
        draw.ellipse((x - d, y - d, x + d, y + d), fill=255)
    return np.asarray(image, dtype=np.float32) / 255.0


DRAWINGS: dict[str, Callable[[Rng, Style], np.ndarray]] = {
    "scribble": scribble_curve,
    "zigzag": scribble_zigzag,
    "loops": scribble_loops,
    "spiral": scribble_spiral,
    "strokes": scribble_strokes,
    "hatching": hatching,
    "shape": shape,
    "texture": texture,
}

# The families the evaluation reports separately.
FAMILIES = {
    "letters": ("letter",),
    "symbols": ("symbol",),
    "scribbles": ("scribble", "zigzag", "loops", "spiral", "strokes"),
    "shapes": ("shape", "hatching"),
    "textures": ("texture",),
}


def drawing(name: str, rng: Rng, style: Style) -> np.ndarray:
    """One drawing of kind ``name`` (a key of ``DRAWINGS``), slanted and rotated a little."""
    return varied(DRAWINGS[name](rng, style), rng, shear=0.2, angle=20)


# Sets ---------------------------------------------------------------------------------------


def character_inks(fonts: list[Path], characters: str, per_char: int, rng: Rng, size: int = 64) -> list[np.ndarray]:
    inks = []
    for font in fonts:
        face = ImageFont.truetype(str(font), size)
        for char in characters:
            if not has_glyph(face, char, size):
                continue
            base = crop_to_ink(text_ink(char, face, size), level=0.02)
            inks.extend(varied(base, rng) for _ in range(per_char))
    return inks


def stroke_inks(per_char: int, rng: Rng) -> list[np.ndarray]:
    """Letters and symbols written with a pen (``training.data.stroke_fonts``; none when the Hershey
    fonts are not installed)."""
    from training.data import stroke_fonts

    chosen = stroke_fonts.glyphs(stroke_fonts.LATIN + stroke_fonts.SYMBOL_FONTS, CHARACTERS)
    return [crop_to_ink(stroke_fonts.written(glyph, rng), level=0.02) for glyph in chosen for _ in range(per_char)]


def training_inputs(fonts: list[Path], per_char: int, drawings: int, seed: int, pen_per_char: int = 0) -> np.ndarray:
    """Network inputs float32 [N, 28, 28] in [0, 1] of non-digits for training: every
    non-ambiguous letter and symbol of ``fonts``, ``per_char`` times each, of the pen-stroke
    fonts ``pen_per_char`` times each, and ``drawings`` scribbles, shapes and textures (kinds in
    turn), each normalised as the service normalises."""
    rng = np.random.default_rng(seed)
    inks = character_inks(fonts, CHARACTERS, per_char, rng)
    inks.extend(stroke_inks(pen_per_char, rng) if pen_per_char else [])
    names = list(DRAWINGS)
    inks.extend(drawing(names[i % len(names)], rng, TRAINING_STYLE) for i in range(drawings))
    if not inks:
        return np.zeros((0, 28, 28), np.float32)
    return np.stack([normalize_digit(ink) for ink in inks]).astype(np.float32)
