"""MNIST digits as the site's drawing canvas sends them: a 280x280 PNG, white strokes on black,
the digit drawn large in the middle with a round brush's solid strokes and soft edges."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

CANVAS = 280  # the site's canvas (site/index.html, #draw-canvas)
DRAWN = 200  # the digit's 28 px become 200: drawn large, as the page asks


def canvas_pixels(digit28: np.ndarray) -> np.ndarray:
    """uint8 [280, 280]: ``digit28`` (MNIST, white on black) as strokes on the black canvas."""
    big = Image.fromarray(np.asarray(digit28, np.uint8)).resize((DRAWN, DRAWN), Image.Resampling.BICUBIC)
    ink = np.asarray(big, np.float32) / 255.0
    strokes = np.clip((ink - 0.35) * 4.0, 0.0, 1.0)  # solid where the pen went, a pixel or two of edge
    page = np.zeros((CANVAS, CANVAS), np.float32)
    start = (CANVAS - DRAWN) // 2
    page[start : start + DRAWN, start : start + DRAWN] = strokes
    return (page * 255.0 + 0.5).astype(np.uint8)


def canvas_png(digit28: np.ndarray) -> bytes:
    """``canvas_pixels`` as the PNG the canvas's toBlob makes (RGBA, opaque)."""
    grey = canvas_pixels(digit28)
    rgba = np.dstack([grey, grey, grey, np.full_like(grey, 255)])
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG")
    return buffer.getvalue()
