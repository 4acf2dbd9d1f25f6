"""Uploads enlarged pixel by pixel are read at their own resolution (vision/pixelation.py)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from recognizer.vision.ink import working_grey
from recognizer.vision.pixelation import block_size


def _digit_like(seed: int, size: tuple[int, int] = (9, 8)) -> np.ndarray:
    """A small grey image, ink here and there on paper: what an 8x8-ish scan holds (uint8)."""
    rng = np.random.default_rng(seed)
    inked = rng.random(size) < 0.45
    return np.where(inked, rng.integers(20, 160, size=size), 235).astype(np.uint8)


def _enlarged(pixels: np.ndarray, factor: float, resample=Image.Resampling.NEAREST) -> Image.Image:
    height, width = pixels.shape
    return Image.fromarray(pixels, mode="L").resize((round(width * factor), round(height * factor)), resample)


def _grey(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.float32) / 255.0


@pytest.mark.parametrize("factor", [3, 4, 7, 4.5, 6.3, 10])
def test_a_nearest_neighbour_enlargement_is_seen_with_its_factor(factor: float) -> None:
    assert block_size(_grey(_enlarged(_digit_like(int(factor * 10)), factor))) == pytest.approx(factor, abs=0.3)


def test_jpeg_ringing_inside_the_blocks_does_not_hide_them() -> None:
    buffer = io.BytesIO()
    _enlarged(_digit_like(1), 6).save(buffer, format="JPEG", quality=75)
    assert block_size(_grey(Image.open(buffer))) == pytest.approx(6, abs=0.3)


@pytest.mark.parametrize(
    "make",
    [
        lambda: _enlarged(_digit_like(2), 6, Image.Resampling.BICUBIC),  # smooth: nothing to undo
        lambda: _enlarged(_digit_like(3), 2),  # twice: too little to matter
        lambda: Image.fromarray(_digit_like(4, (60, 50)), mode="L"),  # drawn at its size
        lambda: Image.fromarray(np.random.default_rng(5).integers(0, 255, (80, 90), dtype=np.uint8), mode="L"),
        lambda: Image.new("L", (64, 64), 200),  # nothing on it
    ],
)
def test_other_images_are_not_taken_for_enlargements(make) -> None:
    assert block_size(_grey(make())) == 1.0


def test_a_pixelated_upload_is_worked_on_as_its_smooth_enlargement() -> None:
    native = _digit_like(6, (10, 8))
    blocky = _enlarged(native, 7)
    grey, scale = working_grey(blocky)
    smooth, _ = working_grey(Image.fromarray(native, mode="L"))
    assert scale == pytest.approx(grey.shape[1] / blocky.size[0])
    assert grey.shape == smooth.shape
    assert np.abs(grey - smooth).max() < 0.02
