"""Feature-map grids, the model's input and its evidence map as PNG, drawn with NumPy and Pillow
(no pyplot).

Each map is min-max normalised on its own, coloured with viridis and upscaled by an integer
factor with nearest-neighbour so every activation stays a crisp square. The gap between maps
is transparent so the grid sits on whatever background the page has.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from recognizer.viridis import VIRIDIS_RGB

# Palette images need one entry for the gap, so the 256-entry viridis table is resampled to
# 255 colours (indistinguishable) and index 255 is the transparent gap.
_LEVELS = 255
GAP_INDEX = _LEVELS
_VIRIDIS = np.asarray(VIRIDIS_RGB, dtype=np.uint8)
_PALETTE = np.vstack([_VIRIDIS[np.linspace(0, 255, _LEVELS).round().astype(int)], np.zeros((1, 3), np.uint8)])
_PNG_COMPRESS_LEVEL = 1  # big flat areas compress well even at the fastest level


@dataclass(frozen=True)
class GridLayout:
    rows: int
    cols: int
    scale: int  # integer upscaling factor (nearest neighbour)
    gap: int = 2  # pixels between maps, after scaling


# The page enlarges the grids crisply (image-rendering: pixelated), so one pixel per activation
# is enough; conv2's 11x11 maps get 3x3 pixels each only so the 1-pixel gap between them stays
# thin. Every extra pixel costs PNG encoding on each request (scale 3/6 took 4.3 ms, now ~1).
CONV1_LAYOUT = GridLayout(rows=4, cols=8, scale=1, gap=1)  # 32 maps of 26x26 -> 215x107
CONV2_LAYOUT = GridLayout(rows=8, cols=8, scale=3, gap=1)  # 64 maps of 11x11 -> 271x271
INPUT_SIZE = 28


def normalise_each_map(maps: np.ndarray) -> np.ndarray:
    """[H, W, C] activations -> [C, H, W] palette indices, each map stretched to 0..254."""
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 3:
        raise ValueError(f"expected maps of shape [H, W, C], got {maps.shape}")
    low = maps.min(axis=(0, 1))
    span = maps.max(axis=(0, 1)) - low
    # A constant map (often all zero after ReLU) is drawn at the bottom of the colormap.
    scale = np.divide(_LEVELS - 1, span, out=np.zeros_like(span), where=span > 0)
    levels = (maps - low) * scale + 0.5
    return np.moveaxis(levels.astype(np.uint8), -1, 0)


def grid_indices(maps: np.ndarray, layout: GridLayout) -> np.ndarray:
    """Tile [H, W, C] maps row-major into one palette-index image with gaps."""
    indices = normalise_each_map(maps)
    count, height, width = indices.shape
    cells = layout.rows * layout.cols
    if count > cells:
        raise ValueError(f"{count} maps do not fit a {layout.rows}x{layout.cols} grid")
    if count < cells:
        filler = np.full((cells - count, height, width), GAP_INDEX, np.uint8)
        indices = np.concatenate([indices, filler])
    big = indices.repeat(layout.scale, axis=1).repeat(layout.scale, axis=2)
    padded = np.pad(big, ((0, 0), (0, layout.gap), (0, layout.gap)), constant_values=GAP_INDEX)
    cell_h, cell_w = padded.shape[1:]
    tiled = (
        padded.reshape(layout.rows, layout.cols, cell_h, cell_w)
        .transpose(0, 2, 1, 3)
        .reshape(layout.rows * cell_h, layout.cols * cell_w)
    )
    return tiled[: -layout.gap or None, : -layout.gap or None]


def indices_to_png(indices: np.ndarray) -> bytes:
    image = Image.fromarray(np.ascontiguousarray(indices), mode="P")
    image.putpalette(_PALETTE.tobytes())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=_PNG_COMPRESS_LEVEL, transparency=GAP_INDEX)
    return buffer.getvalue()


def grid_png(maps: np.ndarray, layout: GridLayout) -> bytes:
    """One layer's activations for one input ([H, W, C]) as a viridis PNG grid."""
    return indices_to_png(grid_indices(maps, layout))


def conv1_png(conv1: np.ndarray) -> bytes:
    return grid_png(conv1, CONV1_LAYOUT)


def conv2_png(conv2: np.ndarray) -> bytes:
    return grid_png(conv2, CONV2_LAYOUT)


def input_png(model_input: np.ndarray) -> bytes:
    """The normalised 28x28 model input (white digit on black) as an 8-bit grayscale PNG."""
    pixels = np.asarray(model_input, dtype=np.float32).reshape(INPUT_SIZE, INPUT_SIZE)
    grey = (np.clip(pixels, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(grey, mode="L").save(buffer, format="PNG", compress_level=_PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def input_pixels(png: bytes) -> np.ndarray:
    """The 28x28 input back from its PNG (``input_png``): uint8 [28, 28], white digit on black.
    ValueError when the bytes are not such a PNG."""
    try:
        with Image.open(io.BytesIO(png)) as image:
            if image.format != "PNG" or image.mode != "L" or image.size != (INPUT_SIZE, INPUT_SIZE):
                raise ValueError(f"not a {INPUT_SIZE}x{INPUT_SIZE} grey PNG")
            return np.asarray(image, dtype=np.uint8)
    except OSError as exc:
        raise ValueError(f"not a PNG: {exc}") from exc


# Evidence maps (recognizer.explain): red for evidence for the answer, blue against it, each
# pixel as opaque as its evidence is strong (one scale for both signs), transparent off the
# ink, so that the map lies over the input PNG (the same 28x28 pixels) in the page.
EVIDENCE_FOR_RGB = (220, 38, 38)
EVIDENCE_AGAINST_RGB = (37, 99, 235)


def evidence_png(values: np.ndarray) -> bytes:
    """An evidence map ([28, 28] floats, + for the answer, - against) as a 28x28 RGBA PNG."""
    values = np.asarray(values, dtype=np.float32).reshape(INPUT_SIZE, INPUT_SIZE)
    strongest = float(np.abs(values).max())
    strength = np.abs(values) / strongest if strongest > 0 else np.zeros_like(values)
    # A square root, so that evidence a tenth of the strongest still shows (at about 30%).
    alpha = (np.sqrt(strength) * 255.0 + 0.5).astype(np.uint8)
    rgba = np.zeros((INPUT_SIZE, INPUT_SIZE, 4), np.uint8)
    rgba[values > 0, :3] = EVIDENCE_FOR_RGB
    rgba[values < 0, :3] = EVIDENCE_AGAINST_RGB
    rgba[..., 3] = alpha
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG", compress_level=_PNG_COMPRESS_LEVEL)
    return buffer.getvalue()
