"""Characters written with a pen: the Hershey vector fonts (Debian ``hershey-fonts-data``), whose
glyphs are pen strokes, not outlines. Drawn with a wobbling hand and any pen from a hairline to a
marker, they give training digits in script and roman hands that no outline font gives (thin
joins, open loops, flags) and, for "not a digit", letters and symbols as a pen makes them.

Used for training only: the evaluation's handwriting fonts are outline fonts of other families.

A ``.jhf`` file holds 96 glyphs for ASCII 32 to 127, one per line: a 5-character number, a
3-character vertex count, the left and right bearings, then coordinate pairs, each letter's
offset from "R"; " R" lifts the pen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

FOLDER = Path("/usr/share/hershey-fonts")
# Latin hands (simplex, duplex and triplex roman, script, cursive, italic, sans).
LATIN = (
    "futural",
    "futuram",
    "rowmans",
    "rowmand",
    "rowmant",
    "scripts",
    "scriptc",
    "cursive",
    "timesr",
    "timesi",
    "timesrb",
    "timesib",
)
# Fonts of symbols (planets, weather, music, maths) whose glyphs at the positions of
# ``training.data.non_digits.CHARACTERS`` are letters or symbols. (``symbolic``, whose markers include
# circles and bars, is left out: a "0" and a "1".)
SYMBOL_FONTS = ("astrology", "meteorology", "mathupp", "mathlow", "music")

Stroke = np.ndarray  # [K, 2] float points (x, y), y down


@dataclass(frozen=True)
class Glyph:
    char: str
    strokes: tuple[Stroke, ...]


def parse_jhf(text: str) -> list[tuple[Stroke, ...]]:
    """Every glyph of a .jhf file, in order: its strokes."""
    glyphs = []
    for line in text.splitlines():
        if not line.strip():
            continue
        count = int(line[5:8])
        pairs = line[8 : 8 + 2 * count]
        strokes: list[list[tuple[int, int]]] = [[]]
        for index in range(1, count):  # the first pair is the bearings
            pair = pairs[2 * index : 2 * index + 2]
            if pair == " R":
                strokes.append([])
                continue
            strokes[-1].append((ord(pair[0]) - ord("R"), ord(pair[1]) - ord("R")))
        glyphs.append(tuple(np.asarray(s, dtype=np.float64) for s in strokes if s))
    return glyphs


def installed() -> bool:
    return (FOLDER / "futural.jhf").is_file()


def font(name: str) -> dict[str, Glyph]:
    """A font's printable ASCII glyphs by character (empty when the package is not installed)."""
    path = FOLDER / f"{name}.jhf"
    if not path.is_file():
        return {}
    glyphs = parse_jhf(path.read_text(encoding="latin-1"))
    return {chr(32 + i): Glyph(chr(32 + i), strokes) for i, strokes in enumerate(glyphs[:96]) if strokes}


def glyphs(names: tuple[str, ...], chars: str) -> list[Glyph]:
    """The glyphs of ``chars`` in each font of ``names`` that has them, leaving out bars (a glyph
    at least four times as tall as wide reads as a "1")."""
    found = []
    for name in names:
        table = font(name)
        for char in chars:
            if char in table:
                points = np.vstack(table[char].strokes)
                width, height = points.max(0) - points.min(0)
                if height <= 4 * max(width, 1.0):
                    found.append(table[char])
    return found


def european(glyph: Glyph, rng: np.random.Generator) -> Glyph:
    """A "7" crossed at mid-height, a "1" with a long flag and a foot, as much of Europe writes
    them; any other glyph as it is."""
    points = np.vstack(glyph.strokes)
    top, bottom = points[:, 1].min(), points[:, 1].max()
    height = bottom - top
    if glyph.char == "7":
        y = top + height * float(rng.uniform(0.45, 0.6))
        # The stem's x at that height: the point of the glyph nearest to it in y, past the bar.
        below = points[points[:, 1] > top + height * 0.2]
        x = float(below[np.argmin(np.abs(below[:, 1] - y)), 0])
        half = height * float(rng.uniform(0.18, 0.28))
        return Glyph("7", (*glyph.strokes, np.array([[x - half, y], [x + half, y]])))
    if glyph.char == "1":
        top_point = points[np.argmin(points[:, 1])]
        bottom_point = points[np.argmax(points[:, 1])]
        flag = top_point + np.array([-height * float(rng.uniform(0.3, 0.45)), height * float(rng.uniform(0.25, 0.4))])
        half = height * float(rng.uniform(0.15, 0.25))
        foot = np.array([[bottom_point[0] - half, bottom], [bottom_point[0] + half, bottom]])
        strokes = (np.vstack([flag, top_point, bottom_point]),)
        return Glyph("1", (*strokes, foot) if rng.random() < 0.6 else strokes)
    return glyph


def written(glyph: Glyph, rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """The glyph as a hand writes it: slanted, stretched, each stroke bent a little, with a pen
    from a hairline (1 px) to a marker (a fifth of the height); ink float32 [H, W] in [0, 1]."""
    points = np.vstack(glyph.strokes)
    low, high = points.min(0), points.max(0)
    scale = (size * 0.8) / max(1.0, float((high - low).max()))
    slant = float(rng.uniform(-0.3, 0.3))
    stretch = float(rng.uniform(0.8, 1.2))
    # A smooth random displacement of the whole glyph (the hand's wobble), a few px.
    wobble = rng.normal(0, size * 0.025, size=(2, 2, 2))
    pen = max(1, round(size * float(rng.choice([rng.uniform(0.015, 0.03), rng.uniform(0.03, 0.2)], p=[0.3, 0.7]))))
    canvas = Image.new("L", (size * 2, size * 2), 0)
    draw = ImageDraw.Draw(canvas)
    for stroke in glyph.strokes:
        xy = (stroke - low) * scale
        u = xy / max(1.0, float(size))
        shift = (
            wobble[0, 0] * (1 - u[:, :1]) * (1 - u[:, 1:])
            + wobble[1, 0] * u[:, :1] * (1 - u[:, 1:])
            + wobble[0, 1] * (1 - u[:, :1]) * u[:, 1:]
            + wobble[1, 1] * u[:, :1] * u[:, 1:]
        )
        xy = xy + shift
        x = xy[:, 0] * stretch + slant * (size * 0.8 - xy[:, 1]) + size * 0.5
        y = xy[:, 1] + size * 0.5
        line = list(zip(x.tolist(), y.tolist(), strict=True))
        if len(line) == 1:
            line = line * 2
        draw.line(line, fill=255, width=pen, joint="curve")
        if pen > 2:
            for px, py in (line[0], line[-1]):
                draw.ellipse((px - pen / 2, py - pen / 2, px + pen / 2, py + pen / 2), fill=255)
    return np.asarray(canvas, dtype=np.float32) / 255.0


def digit_set(per_digit: int, seed: int, european_share: float = 0.4) -> tuple[np.ndarray, np.ndarray]:
    """``per_digit`` written renderings of each digit in each Latin font, a ``european_share`` of
    the 1s and 7s in their European forms, normalised as the service normalises: (float32
    [N, 28, 28] inputs, int64 [N] labels). Empty when the fonts are not installed."""
    from recognizer.vision.digit import crop_to_ink, normalize_digit

    rng = np.random.default_rng(seed)
    images, labels = [], []
    for name in LATIN:
        table = font(name)
        for label in range(10):
            glyph = table.get(str(label))
            if glyph is None:
                continue
            for _ in range(per_digit):
                chosen = european(glyph, rng) if rng.random() < european_share else glyph
                images.append(normalize_digit(crop_to_ink(written(chosen, rng), level=0.02)))
                labels.append(label)
    if not images:
        return np.zeros((0, 28, 28), np.float32), np.zeros((0,), np.int64)
    return np.stack(images).astype(np.float32), np.asarray(labels, dtype=np.int64)
