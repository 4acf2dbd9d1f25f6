"""Digits cut from rows for training: labelled with their own digit, shaped as the service feeds them."""

from __future__ import annotations

import numpy as np
import pytest

from training.data import row_parts
from training.data.rows import make_row, make_rows


def rows_of(mnist_sample, kind: str, count: int, seed: int):
    return list(make_rows(mnist_sample.images, mnist_sample.labels, count, (kind,), seed=seed))


def test_touching_rows_give_digits_cut_apart_labelled_with_their_own_digit(mnist_sample) -> None:
    parts = row_parts.row_part_set(mnist_sample.images, mnist_sample.labels, rows=12, seed=3)
    assert parts.images.dtype == np.float32 and parts.images.shape[1:] == (28, 28)
    assert parts.images.min() >= 0.0 and parts.images.max() <= 1.0
    assert len(parts.labels) == len(parts.images) and parts.from_touching > 0
    # Every image holds a digit placed as MNIST places it: ink inside, centred.
    assert all(image.sum() > 10 for image in parts.images)
    assert set(parts.labels.tolist()) <= set(mnist_sample.labels.tolist())


def test_each_digit_of_a_touching_pair_is_cut_out_and_labelled(mnist_sample) -> None:
    rng = np.random.default_rng(0)
    images = np.stack([mnist_sample.image_of(2), mnist_sample.image_of(3)])
    found = []
    for seed in range(6):
        row = make_row("touching", images, np.array([2, 3], dtype=np.uint8), np.random.default_rng(seed))
        found.append(
            sorted(digit for _, digit, cut in row_parts.parts_of_row(row.data, row.boxes, row.number, rng) if cut)
        )
    assert sum(labels == [2, 3] for labels in found) >= 4, found


def test_digits_standing_alone_are_kept_in_the_order_of_the_row(mnist_sample, monkeypatch) -> None:
    monkeypatch.setattr(row_parts, "ALONE_SHARE", 1.0)
    rng = np.random.default_rng(0)
    for row in rows_of(mnist_sample, "spaced", 4, seed=7):
        parts = row_parts.parts_of_row(row.data, row.boxes, row.number, rng)
        assert "".join(str(digit) for _, digit, _ in parts) == row.number
        assert not any(cut for _, _, cut in parts)


@pytest.mark.parametrize("overlap, expected", [(0.95, True), (0.5, False)])
def test_a_part_covers_a_digit_only_when_it_overlaps_it_closely(overlap: float, expected: bool) -> None:
    truth = [(0.0, 0.0, 10.0, 20.0), (12.0, 0.0, 10.0, 20.0)]
    part = (0.0, 0.0, 10.0 * overlap, 20.0)
    assert (row_parts.digit_covered(part, truth) == 0) is expected


def test_a_part_holding_two_digits_centres_covers_neither() -> None:
    truth = [(0.0, 0.0, 10.0, 20.0), (8.0, 0.0, 10.0, 20.0)]
    assert row_parts.digit_covered((0.0, 0.0, 18.0, 20.0), truth) is None
