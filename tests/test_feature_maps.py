"""Feature-map grids: layout, per-map normalisation, viridis colours, crisp upscaling, PNG; the
input PNG read back; the evidence map's PNG."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from recognizer.feature_maps import (
    CONV1_LAYOUT,
    CONV2_LAYOUT,
    EVIDENCE_AGAINST_RGB,
    EVIDENCE_FOR_RGB,
    GAP_INDEX,
    GridLayout,
    conv1_png,
    conv2_png,
    evidence_png,
    grid_indices,
    input_pixels,
    input_png,
    normalise_each_map,
)
from recognizer.viridis import VIRIDIS_RGB


def decode_rgba(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def grid_size(layout: GridLayout, side: int) -> tuple[int, int]:
    cell = side * layout.scale
    return (
        layout.cols * cell + (layout.cols - 1) * layout.gap,
        layout.rows * cell + (layout.rows - 1) * layout.gap,
    )


def cell_origin(layout: GridLayout, side: int, index: int) -> tuple[int, int]:
    """(x, y) of map ``index``'s top-left pixel in the grid (row-major)."""
    step = side * layout.scale + layout.gap
    return (index % layout.cols) * step, (index // layout.cols) * step


def test_viridis_table_is_256_rgb_entries_from_dark_purple_to_yellow() -> None:
    assert len(VIRIDIS_RGB) == 256
    assert VIRIDIS_RGB[0] == (68, 1, 84)
    assert VIRIDIS_RGB[-1] == (253, 231, 37)
    assert all(len(entry) == 3 and all(0 <= c <= 255 for c in entry) for entry in VIRIDIS_RGB)


def test_each_map_is_stretched_on_its_own() -> None:
    maps = np.zeros((4, 4, 3), np.float32)
    maps[..., 0] = np.arange(16).reshape(4, 4)  # 0..15
    maps[..., 1] = np.arange(16).reshape(4, 4) * 1000 + 5  # same pattern, other range
    # map 2 is constant: drawn at the bottom of the colormap, not divided by zero
    indices = normalise_each_map(maps)
    assert indices.shape == (3, 4, 4)
    np.testing.assert_array_equal(indices[0], indices[1])
    assert indices[0].min() == 0 and indices[0].max() == 254
    assert (indices[2] == 0).all()


@pytest.mark.parametrize(
    ("render", "layout", "side", "channels"),
    [(conv1_png, CONV1_LAYOUT, 26, 32), (conv2_png, CONV2_LAYOUT, 11, 64)],
)
def test_grid_places_each_map_in_row_major_order_with_viridis(render, layout, side, channels):
    assert (layout.rows * layout.cols) == channels
    rng = np.random.default_rng(channels)
    maps = rng.random((side, side, channels)).astype(np.float32)
    hot = 2 + channels // 3  # the one map whose top-left activation is its maximum
    maps[..., hot] *= 0.5
    maps[0, 0, hot] = 1.0

    png = render(maps)
    assert png.startswith(b"\x89PNG")
    pixels = decode_rgba(png)
    assert pixels.shape[1::-1] == grid_size(layout, side)

    x, y = cell_origin(layout, side, hot)
    block = pixels[y : y + layout.scale, x : x + layout.scale]
    assert (block == (*VIRIDIS_RGB[255], 255)).all()  # top of viridis, scale x scale pixels
    x0, y0 = cell_origin(layout, side, 0)
    lowest = np.unravel_index(np.argmin(maps[..., 0]), (side, side))
    low_pixel = pixels[y0 + lowest[0] * layout.scale, x0 + lowest[1] * layout.scale]
    assert tuple(low_pixel) == (*VIRIDIS_RGB[0], 255)


def test_gaps_between_maps_are_transparent_and_cells_are_crisp() -> None:
    rng = np.random.default_rng(1)
    maps = rng.random((26, 26, 32)).astype(np.float32)
    pixels = decode_rgba(conv1_png(maps))
    step = 26 * CONV1_LAYOUT.scale + CONV1_LAYOUT.gap
    gap_columns = pixels[:, step - CONV1_LAYOUT.gap : step]
    assert (gap_columns[..., 3] == 0).all()
    cell = pixels[: 26 * CONV1_LAYOUT.scale, : 26 * CONV1_LAYOUT.scale, :3]
    blocks = cell.reshape(26, CONV1_LAYOUT.scale, 26, CONV1_LAYOUT.scale, 3)
    # nearest-neighbour: every scale x scale block is one colour
    assert (blocks == blocks[:, :1, :, :1]).all()
    assert (pixels[: 26 * CONV1_LAYOUT.scale, : 26 * CONV1_LAYOUT.scale, 3] == 255).all()


def test_fewer_maps_than_cells_leave_transparent_cells() -> None:
    layout = GridLayout(rows=2, cols=2, scale=1, gap=1)
    indices = grid_indices(np.ones((3, 3, 3), np.float32), layout)
    assert indices.shape == (7, 7)
    assert (indices[4:, 4:] == GAP_INDEX).all()


def test_more_maps_than_cells_is_refused() -> None:
    with pytest.raises(ValueError):
        grid_indices(np.ones((3, 3, 5), np.float32), GridLayout(rows=2, cols=2, scale=1))


def test_input_png_is_the_28x28_input_in_grey() -> None:
    model_input = np.zeros((28, 28), np.float32)
    model_input[10:18, 12:16] = 1.0
    model_input[0, 0] = 0.5
    image = Image.open(io.BytesIO(input_png(model_input)))
    assert image.size == (28, 28) and image.mode == "L"
    pixels = np.asarray(image)
    assert pixels[12, 13] == 255 and pixels[0, 1] == 0 and pixels[0, 0] in (127, 128)


def test_the_input_png_reads_back_to_the_same_784_bytes(mnist_sample) -> None:
    digit = mnist_sample.image_of(4)
    pixels = input_pixels(input_png(digit.astype(np.float32) / 255.0))
    assert pixels.dtype == np.uint8 and pixels.shape == (28, 28)
    assert np.array_equal(pixels, digit)


@pytest.mark.parametrize(
    "image",
    [Image.new("L", (28, 27)), Image.new("RGB", (28, 28)), Image.new("L", (56, 56))],
    ids=["not square", "colour", "too big"],
)
def test_reading_an_input_refuses_anything_but_a_28x28_grey_png(image: Image.Image) -> None:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    with pytest.raises(ValueError):
        input_pixels(buffer.getvalue())
    with pytest.raises(ValueError):
        input_pixels(b"not a png at all")


def test_the_evidence_png_is_the_inputs_size_red_for_blue_against_clear_elsewhere() -> None:
    values = np.zeros((28, 28), np.float32)
    values[5, 5], values[6, 6], values[7, 7] = 2.0, -1.0, 0.02
    rgba = decode_rgba(evidence_png(values))
    assert rgba.shape == (28, 28, 4)
    assert tuple(rgba[5, 5]) == (*EVIDENCE_FOR_RGB, 255)  # the strongest: opaque
    assert tuple(rgba[6, 6, :3]) == EVIDENCE_AGAINST_RGB and 150 < rgba[6, 6, 3] < 255
    assert tuple(rgba[7, 7, :3]) == EVIDENCE_FOR_RGB and 0 < rgba[7, 7, 3] < rgba[6, 6, 3]  # weak, still seen
    assert rgba[0, 0, 3] == 0 and (rgba[..., 3] > 0).sum() == 3
    assert (decode_rgba(evidence_png(np.zeros((28, 28))))[..., 3] == 0).all()
