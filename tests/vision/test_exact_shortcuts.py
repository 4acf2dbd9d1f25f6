"""The shortcuts of the fast path give what the long way gives, bit for bit: block means,
histograms, the extremes' means, squared distances, stroke widths and pieces of ink measured
within the ink's box."""

from __future__ import annotations

import numpy as np
import pytest

from recognizer.vision import ndimage as ndi
from recognizer.vision.components import ink_components
from recognizer.vision.ndimage_labels import squared_distances_to_background
from recognizer.vision.resample import block_means
from recognizer.vision.statistics import extreme_mean, unit_histogram
from recognizer.vision.strokes import INK_LEVEL, stroke_width

RNG = np.random.default_rng(26)


def shapes() -> list[tuple[int, int]]:
    return [(256, 256), (255, 190), (67, 256), (9, 40), (40, 9), (3, 3), (192, 144)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.bool_])
def test_block_means_are_numpys_means_to_the_bit(dtype) -> None:
    for shape in shapes():
        values = (RNG.random(shape) * RNG.random()).astype(dtype) if dtype != np.bool_ else RNG.random(shape) > 0.6
        for f in (1, 2, 3, 4, 5, 8):
            if min(shape) < f:
                continue
            h, w = shape[0] // f, shape[1] // f
            expected = values[: h * f, : w * f].reshape(h, f, w, f).mean(axis=(1, 3))
            got = block_means(values, f)
            assert got.dtype == expected.dtype and np.array_equal(got, expected), (shape, f)


def test_the_unit_histogram_is_numpys() -> None:
    values = RNG.random((200, 300), dtype=np.float32)
    values[0, :5] = [0.0, 1.0, 0.5, 1.0 / 64, 63.0 / 64]
    values[1, :3] = [-0.1, 1.5, 2.0]  # outside the range: left out, as np.histogram leaves them
    counts, edges = unit_histogram(values, 64)
    expected_counts, expected_edges = np.histogram(values, bins=64, range=(0.0, 1.0))
    assert np.array_equal(counts, expected_counts) and np.array_equal(edges, expected_edges)
    with pytest.raises(ValueError):
        unit_histogram(values, 60)


@pytest.mark.parametrize("largest", [True, False])
def test_the_extremes_mean_is_the_mean_of_the_same_values(largest) -> None:
    for values in (
        RNG.random(65536, dtype=np.float32),
        np.where(RNG.random(65536) < 0.8, 0.0, RNG.random(65536)).astype(np.float32),  # mostly paper
        np.full(4096, 0.25, np.float32),  # all alike
        RNG.random(50, dtype=np.float32),  # too few to sample
    ):
        count = max(16, int(0.003 * values.size))
        ordered = np.sort(values)
        chosen = ordered[-count:] if largest else ordered[:count]
        assert extreme_mean(values, count, largest=largest) == pytest.approx(float(chosen.mean()), rel=1e-6)


def test_squared_distances_are_the_distance_transform_squared() -> None:
    for shape in shapes():
        mask = RNG.random(shape) > 0.3
        mask[0, 0] = False
        squared = squared_distances_to_background(mask)
        assert np.issubdtype(squared.dtype, np.integer)
        assert np.array_equal(np.sqrt(squared.astype(np.float64)), ndi.distance_transform_edt(mask))


def _stroke_width_the_long_way(ink: np.ndarray) -> float:
    mask = ink >= INK_LEVEL
    if not mask.any():
        return 0.0
    distance = ndi.distance_transform_edt(np.pad(mask, 1))[1:-1, 1:-1]
    ridge = mask & (distance >= ndi.maximum_filter(distance, size=3))
    return float(2.0 * np.median(distance[ridge]))


def _strokes(shape: tuple[int, int], width: int) -> np.ndarray:
    ink = np.zeros(shape, np.float32)
    ink[shape[0] // 4 : shape[0] // 4 + width, 2:-2] = 1.0
    ink[3:-3, shape[1] // 2 : shape[1] // 2 + width] = 0.8
    return ink


def test_stroke_width_within_the_ink_box_is_the_whole_maps() -> None:
    maps = [_strokes((120, 90), width) for width in (1, 3, 8)] + [np.zeros((30, 30), np.float32)]
    edge = np.zeros((40, 40), np.float32)
    edge[:, :5] = 1.0  # ink along the frame: the box reaches the edge
    for ink in [*maps, edge, (RNG.random((80, 60)) > 0.7).astype(np.float32)]:
        assert stroke_width(ink) == _stroke_width_the_long_way(ink)


def test_pieces_measured_within_the_ink_box_are_those_of_the_whole_map() -> None:
    ink = np.zeros((100, 120), np.float32)
    ink[10:30, 20:25] = 1.0
    ink[50:60, 60:90] = 0.6
    ink[95:100, 0:10] = 0.9  # on the frame
    ink[40, 40] = 0.3  # faint alone: labelled, but no piece (no real ink)
    labels, components = ink_components(ink, min_area=1)
    expected, count = ndi.label(ink >= 0.2, structure=np.ones((3, 3), dtype=bool))
    assert np.array_equal(labels, expected) and count == 4 and len(components) == 3
    boxes = {c.label: (tuple(c.box), c.touches_border) for c in components}
    assert boxes[1] == ((20, 10, 5, 20), False)
    assert boxes[4] == ((0, 95, 10, 5), True)


def test_a_small_digit_is_read_closer_from_the_grey_upload_as_from_the_colour_one(mnist_sample) -> None:
    from PIL import Image

    from recognizer.vision.digit import to_model_input
    from recognizer.vision.pixelation import grey_upload

    paper = np.full((900, 1200, 3), (222, 218, 205), np.float32)
    glyph = np.asarray(Image.fromarray(mnist_sample.image_of(3)).resize((90, 90), Image.Resampling.BICUBIC))
    paper[400:490, 550:640] -= glyph[..., None].astype(np.float32) * 0.7
    photo = Image.fromarray(np.clip(paper + RNG.normal(0, 3, paper.shape), 0, 255).astype(np.uint8))
    assert np.array_equal(to_model_input(photo, grey_upload(photo)), to_model_input(photo))
