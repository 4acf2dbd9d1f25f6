"""Photo-sized images of one digit: an MNIST digit written dark on light paper, a third of the
side tall, with sensor noise so that the file is as big as a camera's."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def digit_photo(digit28: np.ndarray, side: int, noise: float, paper: float = 225.0) -> Image.Image:
    """A ``side`` x ``side`` grey photo of ``digit28`` (MNIST: white on black)."""
    ink = np.asarray(Image.fromarray(digit28).resize((side // 3, side // 3), Image.Resampling.BICUBIC))
    page = np.full((side, side), paper, np.float32)
    page[side // 3 : side // 3 + ink.shape[0], side // 3 : side // 3 + ink.shape[1]] -= ink * 0.8
    page += np.random.default_rng(0).normal(0, noise, size=page.shape)
    return Image.fromarray(np.clip(page, 0, 255).astype(np.uint8))


def photo_file(digit28: np.ndarray, side: int, noise: float, fmt: str = "JPEG", quality: int = 95) -> bytes:
    """``digit_photo`` encoded as ``fmt`` (HEIF needs pillow-heif, registered here)."""
    image = digit_photo(digit28, side, noise)
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, quality=quality)
    return buffer.getvalue()
