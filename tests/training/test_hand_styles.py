"""The hands and pens of issue #16: low-resolution scans, italic slant, fine pens and broad nibs,
as evaluation kinds (training.data.realistic, training.data.rows) and as training digits (training.data.styled_digits)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from recognizer.vision.strokes import stroke_width
from training.data import hand_styles, realistic
from training.data.rows import make_rows
from training.data.styled_digits import STYLES, styled_digit_set


@pytest.fixture(scope="module")
def ring() -> np.ndarray:
    """A "0": a ring 100 px tall with strokes 12 px wide."""
    yy, xx = np.mgrid[0:100, 0:80]
    radius = np.hypot((yy - 50) / 48, (xx - 40) / 38)
    return ((radius <= 1.0) & (radius >= 0.72)).astype(np.float32)


def test_shrunk_and_enlarged_keeps_the_shape_at_a_few_pixels(ring: np.ndarray) -> None:
    blocky = hand_styles.shrunk_and_enlarged(ring, 8, 6.0, "nearest")
    assert blocky.shape == (48, 36)  # 8 x 6 px, then 6x
    small = blocky[::6, ::6]
    assert np.array_equal(blocky, np.kron(small, np.ones((6, 6), dtype=np.float32)))  # in blocks
    assert small[4, 0] > 0.5 and small[4, 3] < 0.5  # a ring: ink at the side, a hole in the middle
    blurry = hand_styles.shrunk_and_enlarged(ring, 8, 6.0, "bicubic")
    assert blurry.min() >= 0.0 and blurry.max() <= 1.0


def test_slanted_leans_the_way_it_is_told(ring: np.ndarray) -> None:
    leaning = hand_styles.slanted(ring, 0.5, squeeze=0.8)
    assert leaning.shape[0] == ring.shape[0] and leaning.shape[1] > ring.shape[1]
    top = np.flatnonzero(leaning[5] > 0.5).mean()
    bottom = np.flatnonzero(leaning[-5] > 0.5).mean()
    assert top - bottom > 30  # leaning right: the top further right than the bottom


def test_a_fine_pen_draws_the_centre_line_thin(ring: np.ndarray) -> None:
    fine = hand_styles.fine_pen(ring, 1.5)
    assert stroke_width(fine) < 3.0 < stroke_width(ring)
    assert fine[50, :10].max() > 0.3 and fine[50, 30:50].max() < 0.1  # the ring, not its hole


def test_a_broad_nib_is_wide_across_and_thin_along_its_angle(ring: np.ndarray) -> None:
    nib = hand_styles.broad_nib(ring, nib=16.0, angle_degrees=0.0, hairline=1.0)
    # A horizontal nib: the ring's sides (vertical strokes) are wide, its top and bottom thin.
    side = np.count_nonzero(nib[50] > 0.5)
    top = np.count_nonzero(nib[:, 40] > 0.5)
    assert side >= 2 * 10 and top <= 8


@pytest.mark.parametrize("kind", ["low_resolution", "cursive_slant", "hairline_pen"])
def test_the_new_kinds_are_image_files_of_the_digit(kind: str, mnist_sample) -> None:
    samples = list(realistic.mnist_samples(kind, mnist_sample.images[:6], mnist_sample.labels[:6], 6, seed=1))
    again = list(realistic.mnist_samples(kind, mnist_sample.images[:6], mnist_sample.labels[:6], 6, seed=1))
    assert [s.data for s in samples] == [s.data for s in again]  # seeded
    for sample in samples:
        image = Image.open(io.BytesIO(sample.data))
        assert image.size[0] >= 28 and image.size[1] >= 28
        assert np.ptp(np.asarray(image.convert("L"))) > 60  # ink on paper


def test_styled_training_digits_look_like_served_inputs(mnist_sample) -> None:
    styled = styled_digit_set(mnist_sample.images[:40], mnist_sample.labels[:40], per_style=5, seed=2)
    assert set(styled.styles) == set(STYLES) and len(styled.labels) == len(styled.images) >= 12
    assert styled.images.shape[1:] == (28, 28) and styled.images.dtype == np.float32
    assert all(np.isclose(image.max(), 1.0) for image in styled.images)
    assert set(styled.labels.tolist()) <= set(mnist_sample.labels[:40].tolist())


def test_overlapping_and_angled_rows_hold_every_digit_in_its_box(mnist_sample) -> None:
    for kind in ("overlapping", "angled"):
        for row in make_rows(mnist_sample.images, mnist_sample.labels, 6, (kind,), seed=4):
            image = Image.open(io.BytesIO(row.data))
            assert len(row.boxes) == len(row.number)
            for x, y, w, h in row.boxes:
                assert x >= 0 and y >= 0 and x + w <= image.size[0] + 1 and y + h <= image.size[1] + 1
    overlaps = []
    for row in make_rows(mnist_sample.images, mnist_sample.labels, 12, ("overlapping",), seed=5):
        for (x0, _, w0, _), (x1, _, w1, _) in zip(row.boxes, row.boxes[1:], strict=False):
            overlaps.append((x0 + w0 - x1) / min(w0, w1))
    assert max(overlaps) > 0.1  # neighbours' boxes overlap, some by a good part of a digit
