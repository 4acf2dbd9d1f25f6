"""A written number's signs drawn as a pen would (a minus, a decimal point, a decimal comma), and
dots of dirt that are no sign.

Each sign is drawn as a crop as tall as the row's digits (``training.data.rows`` places crops
centred on the row, so the sign lands where a writer puts it: a minus at mid-height, a point or
a comma on the baseline, the comma's tail below it), in the stroke width of the digits beside it.
Ink is float32 in [0, 1] (1 = ink), drawn 4x larger and shrunk for soft edges.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from training.data.realistic import Rng

SUPERSAMPLE = 4


def _drawn(size: tuple[int, int], draw) -> np.ndarray:
    """Ink drawn by ``draw(ImageDraw, scale)`` on a canvas of ``size`` (w, h), antialiased."""
    w, h = max(1, size[0]), max(1, size[1])
    canvas = Image.new("L", (w * SUPERSAMPLE, h * SUPERSAMPLE), 0)
    draw(ImageDraw.Draw(canvas), SUPERSAMPLE)
    small = canvas.resize((w, h), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0


def minus(height: int, stroke: float, rng: Rng) -> np.ndarray:
    """A short bar at mid-height, a little tilted, as wide as a third to three fifths of a digit."""
    length = height * rng.uniform(0.3, 0.6)
    thick = max(1.0, stroke * rng.uniform(0.8, 1.25))
    tilt = np.deg2rad(rng.uniform(-8, 8))
    middle = height * rng.uniform(0.42, 0.6)
    width = int(np.ceil(length + 2 * thick))
    dx, dy = np.cos(tilt) * length / 2, np.sin(tilt) * length / 2
    centre_x = width / 2

    def draw(pen: ImageDraw.ImageDraw, s: int) -> None:
        ends = [(s * (centre_x - dx), s * (middle + dy)), (s * (centre_x + dx), s * (middle - dy))]
        pen.line(ends, fill=255, width=max(1, round(s * thick)))
        for x, y in ends:  # round pen ends
            r = s * thick / 2
            pen.ellipse((x - r, y - r, x + r, y + r), fill=255)

    return _drawn((width, height), draw)


def point(height: int, stroke: float, rng: Rng, comma: bool = False) -> np.ndarray:
    """A dot on the baseline (a comma: the dot with a short tail down and to the left, below the
    baseline; the crop is grown as much above so the row stays centred)."""
    diameter = max(1.5, stroke * rng.uniform(1.0, 1.8))
    tail = height * rng.uniform(0.2, 0.35) if comma else 0.0
    width = int(np.ceil(diameter + tail * 0.6 + 4))
    grown = int(np.ceil(tail))
    centre = (width - diameter / 2 - 2, grown + height - diameter / 2 - height * rng.uniform(0.0, 0.06))

    def draw(pen: ImageDraw.ImageDraw, s: int) -> None:
        x, y = centre
        r = diameter / 2
        pen.ellipse((s * (x - r), s * (y - r), s * (x + r), s * (y + r)), fill=255)
        if comma:
            end = (x - tail * 0.55, y + tail)
            pen.line([(s * x, s * y), (s * end[0], s * end[1])], fill=255, width=max(1, round(s * stroke * 0.9)))

    return _drawn((width, height + 2 * grown), draw)


def sign_glyph(symbol: str, height: int, stroke: float, rng: Rng) -> np.ndarray:
    """``symbol`` ("-", "." or ",") as a crop for a row of digits ``height`` tall."""
    if symbol == "-":
        return minus(height, stroke, rng)
    return point(height, stroke, rng, comma=symbol == ",")


def _dot(size: int, diameter: float) -> np.ndarray:
    low, high = size / 2 - diameter / 2, size / 2 + diameter / 2
    return _drawn((size, size), lambda pen, s: pen.ellipse((s * low, s * low, s * high, s * high), fill=255))


def add_dirt(alpha: np.ndarray, boxes, stroke: float, rng: Rng) -> np.ndarray:
    """One to three dots of dirt where no sign goes: above the row's middle, or off its ends
    (never on the baseline between two digits, where a dot is a decimal point)."""
    out = alpha.copy()
    height, width = alpha.shape
    left = min(b[0] for b in boxes)
    right = max(b[0] + b[2] for b in boxes)
    top = min(b[1] for b in boxes)
    digit_height = max(b[3] for b in boxes)
    for _ in range(int(rng.integers(1, 4))):
        diameter = max(1.5, stroke * rng.uniform(0.5, 1.5))
        if rng.random() < 0.5:  # high in the row or above it
            y = top + digit_height * rng.uniform(-0.3, 0.35)
            x = rng.uniform(left, right)
        else:  # beyond either end, at any height
            y = top + digit_height * rng.uniform(0.0, 1.0)
            x = (
                left - rng.uniform(0.3, 1.0) * digit_height
                if rng.random() < 0.5
                else right + rng.uniform(0.3, 1.0) * digit_height
            )
        size = int(np.ceil(diameter)) + 2
        dot = _dot(size, diameter)
        x0, y0 = int(x - size / 2), int(y - size / 2)
        if x0 >= 0 and y0 >= 0 and x0 + size <= width and y0 + size <= height:
            out[y0 : y0 + size, x0 : x0 + size] = np.maximum(out[y0 : y0 + size, x0 : x0 + size], dot)
    return out
