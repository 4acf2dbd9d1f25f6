"""Marks that are not digits, one of each kind the service must refuse, drawn with a pen as a
person would on the site's canvas: a symbol ("#"), a shape (a star), scribbles (a spiral, a
zigzag), letters ("A", "K") and a texture (a field of dots). Alpha arrays (1 = ink) and image
files of them."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

MARKS = ("hash", "star", "spiral", "zigzag", "letter_a", "letter_k", "dots")


def _strokes(name: str, size: int) -> list[list[tuple[float, float]]]:
    s = size
    if name == "hash":
        return [
            [(0.38 * s, 0.12 * s), (0.30 * s, 0.88 * s)],
            [(0.68 * s, 0.12 * s), (0.60 * s, 0.88 * s)],
            [(0.12 * s, 0.36 * s), (0.88 * s, 0.36 * s)],
            [(0.10 * s, 0.64 * s), (0.86 * s, 0.64 * s)],
        ]
    if name == "star":
        angles = np.deg2rad(-90 + np.arange(6) * 144)
        return [[(s / 2 + 0.42 * s * np.cos(a), s / 2 + 0.42 * s * np.sin(a)) for a in angles]]
    if name == "spiral":
        t = np.linspace(0, 3 * 2 * np.pi, 240)
        r = 0.44 * s * (0.1 + 0.9 * t / t[-1])
        return [list(zip(s / 2 + r * np.cos(t), s / 2 + r * np.sin(t), strict=True))]
    if name == "letter_a":
        return [
            [(0.15 * s, 0.88 * s), (0.5 * s, 0.12 * s), (0.85 * s, 0.88 * s)],
            [(0.3 * s, 0.58 * s), (0.7 * s, 0.58 * s)],
        ]
    if name == "letter_k":
        return [
            [(0.3 * s, 0.1 * s), (0.3 * s, 0.9 * s)],
            [(0.75 * s, 0.1 * s), (0.3 * s, 0.55 * s), (0.8 * s, 0.9 * s)],
        ]
    if name == "zigzag":
        xs = np.linspace(0.1 * s, 0.9 * s, 9)
        return [[(x, 0.3 * s if i % 2 else 0.7 * s) for i, x in enumerate(xs)]]
    raise ValueError(name)


def mark_alpha(name: str, size: int = 120, width: int = 9) -> np.ndarray:
    """One mark as ink, float32 [size, size] in [0, 1]."""
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    if name == "dots":  # a texture: blots scattered over the whole mark
        rng = np.random.default_rng(3)
        for x, y in rng.uniform(0.1 * size, 0.9 * size, size=(24, 2)):
            r = width * float(rng.uniform(0.5, 1.0))
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
        return np.asarray(canvas, dtype=np.float32) / 255.0
    for stroke in _strokes(name, size):
        draw.line(stroke, fill=255, width=width, joint="curve")
    return np.asarray(canvas, dtype=np.float32) / 255.0


def mark_png(name: str, size: int = 240) -> bytes:
    """Dark ink on white, as the site's drawing canvas sends it."""
    pixels = np.rint(255 - 255 * mark_alpha(name, size, width=max(3, size // 14))).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    return buffer.getvalue()
