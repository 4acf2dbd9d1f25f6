"""Training augmentation: loops filled as a thick marker fills them, strokes kept MNIST-thin."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

pytestmark = pytest.mark.slow

tf = pytest.importorskip("tensorflow")


def eight(upper_hole: int) -> np.ndarray:
    """An "8" with 3 px strokes whose upper loop is ``upper_hole`` px across inside."""
    canvas = Image.new("L", (28, 28), 0)
    draw = ImageDraw.Draw(canvas)
    outer = upper_hole + 6
    draw.ellipse((14 - outer // 2, 3, 14 - outer // 2 + outer - 1, 3 + outer - 1), outline=255, width=3)
    draw.ellipse((8, 3 + outer - 2, 20, 25), outline=255, width=3)
    return np.asarray(canvas, dtype=np.float32)[None, ..., None] / 255.0


def holes(image: np.ndarray) -> int:
    from scipy import ndimage as ndi

    background, count = ndi.label(image[0, ..., 0] < 0.5)
    return count - 1  # the background around the digit is one region


@pytest.mark.parametrize("hole", [2, 4])
def test_fill_like_marker_closes_small_loops_and_keeps_the_outline(hole):
    from training.fitting.augment import _closing

    image = eight(hole)
    assert holes(image) == 2
    closed = _closing(tf.constant(image), 5).numpy()
    assert holes(closed) == 1  # the small upper loop is filled, the big lower one stays open
    ink, closed_ink = image[0, ..., 0] >= 0.5, closed[0, ..., 0] >= 0.5
    assert np.all(closed_ink >= ink)  # a closing only adds ink ...
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    closed_rows, closed_cols = np.flatnonzero(closed_ink.any(axis=1)), np.flatnonzero(closed_ink.any(axis=0))
    # ... inside the outline (soft edge pixels may cross the 0.5 level: 1 px at most)
    assert np.abs(rows[[0, -1]] - closed_rows[[0, -1]]).max() <= 1
    assert np.abs(cols[[0, -1]] - closed_cols[[0, -1]]).max() <= 1


def test_fill_like_marker_share_picks_how_many_images():
    from training.fitting.augment import fill_like_marker

    batch = tf.constant(np.repeat(eight(4), 400, axis=0))
    none = fill_like_marker(batch, tf.constant([1, 2], dtype=tf.int64), share=0.0).numpy()
    np.testing.assert_array_equal(none, batch.numpy())
    some = fill_like_marker(batch, tf.constant([1, 2], dtype=tf.int64), share=0.5).numpy()
    changed = [not np.allclose(a, b) for a, b in zip(some, batch.numpy(), strict=True)]
    assert 0.4 < np.mean(changed) < 0.6
    filled = [holes(image[None]) == 1 for image in some]
    assert filled == changed  # every closed image had its small loop filled, no other image did
