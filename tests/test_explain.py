"""The evidence map (recognizer.explain): pieces of ink, one forward pass, values that add up to
what hiding each piece did, and a map that finds what a network really looks at."""

from __future__ import annotations

import numpy as np
import pytest

from recognizer.explain import (
    METHOD,
    OCCLUSION,
    OcclusionTuning,
    answer_log_odds,
    ink_pieces,
    occlusion_evidence,
)
from recognizer.networks import Networks
from recognizer.networks.digit_cnn import Activations


def fake_activations(probs: np.ndarray) -> Activations:
    count = len(probs)
    return Activations(
        probs=probs.astype(np.float32),
        digit=np.ones((count, 1), np.float32),
        conv1=np.zeros((count, 26, 26, 32), np.float32),
        conv2=np.zeros((count, 11, 11, 64), np.float32),
    )


class LeftHalfNetwork:
    """Says "1" as surely as there is ink in the left half of the input, and "0" otherwise:
    the right half never matters. Counts its calls and the inputs of each."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def run(self, images: np.ndarray) -> Activations:
        images = np.asarray(images, np.float32).reshape(-1, 28, 28)
        self.batches.append(len(images))
        logit = images[:, :, :14].sum(axis=(1, 2)) / 10.0 - 3.0
        one = 1.0 / (1.0 + np.exp(-logit))
        probs = np.zeros((len(images), 10))
        probs[:, 1], probs[:, 0] = one, 1.0 - one
        return fake_activations(probs)


def bar(rows: slice, cols: slice, level: float = 1.0) -> np.ndarray:
    image = np.zeros((28, 28), np.float32)
    image[rows, cols] = level
    return image


def test_pieces_cover_exactly_the_ink_and_are_the_same_every_time(mnist_sample) -> None:
    image = mnist_sample.image_of(7).astype(np.float32) / 255.0
    labels, count = ink_pieces(image)
    assert count == OCCLUSION.pieces
    assert np.array_equal(labels >= 0, image > OCCLUSION.ink_level)
    assert set(np.unique(labels[labels >= 0])) == set(range(count))
    again, _ = ink_pieces(image.copy())
    assert np.array_equal(labels, again)


def test_pieces_are_compact_each_a_part_of_the_digit(mnist_sample) -> None:
    image = mnist_sample.image_of(2).astype(np.float32) / 255.0
    labels, count = ink_pieces(image)
    rows, cols = np.nonzero(labels >= 0)
    whole = max(np.ptp(rows), np.ptp(cols))
    for piece in range(count):
        r, c = np.nonzero(labels == piece)
        assert max(np.ptp(r), np.ptp(c)) < whole / 2  # each a part of the digit, not strewn over it


def test_blank_or_tiny_inputs_give_as_many_pieces_as_they_have_pixels() -> None:
    assert ink_pieces(np.zeros((28, 28), np.float32))[1] == 0
    two = bar(slice(5, 6), slice(5, 7))
    labels, count = ink_pieces(two)
    assert count == 2 and sorted(labels[5, 5:7]) == [0, 1]


def test_log_odds_stay_exact_for_a_sure_answer() -> None:
    probs = np.array([[1.0 - 1e-9, 1e-9] + [0.0] * 8])
    assert answer_log_odds(probs, 0)[0] == pytest.approx(np.log((1 - 1e-9) / 1e-9), rel=1e-6)
    assert answer_log_odds(probs, 1)[0] == pytest.approx(-np.log((1 - 1e-9) / 1e-9), rel=1e-6)


def test_the_map_finds_what_the_network_looks_at_in_one_forward_pass() -> None:
    network = LeftHalfNetwork()
    image = bar(slice(6, 22), slice(4, 24))  # ink on both halves; only the left one counts
    inputs = [image, bar(slice(10, 14), slice(2, 26))]
    before = network.run(np.stack(inputs))
    network.batches.clear()
    maps = occlusion_evidence(inputs, [1, 1], before.probs, network.run)
    assert network.batches == [2 * OCCLUSION.pieces]  # every hidden copy of both inputs at once
    for model_input, evidence in zip(inputs, maps, strict=True):
        assert evidence.method == METHOD and evidence.values.shape == (28, 28)
        assert np.all(evidence.values[model_input == 0] == 0)  # nothing off the ink
        labels, count = ink_pieces(model_input)
        sides = [set(np.nonzero(labels == piece)[1] >= 14) for piece in range(count)]
        left = [piece for piece, side in enumerate(sides) if side == {False}]
        right = [piece for piece, side in enumerate(sides) if side == {True}]
        assert left and right
        assert all(evidence.values[labels == piece].sum() > 0 for piece in left)  # evidence for "1"
        assert all(np.all(evidence.values[labels == piece] == 0) for piece in right)  # none
    # For "0" the same ink is evidence against.
    (against,) = occlusion_evidence([image], [0], before.probs[:1], network.run)
    assert against.values[:, :13].sum() < 0


def test_a_pieces_values_add_up_to_what_hiding_it_did() -> None:
    network = LeftHalfNetwork()
    image = bar(slice(6, 22), slice(3, 14), level=0.8)
    before = network.run(image[None])
    (evidence,) = occlusion_evidence([image], [1], before.probs, network.run)
    labels, count = ink_pieces(image)
    for piece in range(count):
        hidden = np.where(labels == piece, 0.0, image)
        drop = answer_log_odds(before.probs, 1)[0] - answer_log_odds(network.run(hidden[None]).probs, 1)[0]
        assert evidence.values[labels == piece].sum() == pytest.approx(drop, rel=1e-4, abs=1e-6)


def test_fewer_pieces_cost_fewer_inputs() -> None:
    network = LeftHalfNetwork()
    image = bar(slice(6, 22), slice(4, 24))
    occlusion_evidence([image], [1], network.run(image[None]).probs, network.run, OcclusionTuning(pieces=3))
    assert network.batches[-1] == 3


def test_on_the_served_network_hiding_the_strongest_evidence_costs_the_most(networks: Networks, mnist_sample) -> None:
    """Of the pieces, the one the map marks strongest is the one whose hiding lowers the
    answer's probability most (the map is what occlusion measured, not a guess)."""
    for digit in (0, 3, 7):
        image = mnist_sample.image_of(digit).astype(np.float32) / 255.0
        before = networks.digit.run(image[None])
        answer = int(before.probs[0].argmax())
        (evidence,) = occlusion_evidence([image], [answer], before.probs, networks.digit.run)
        labels, count = ink_pieces(image)
        totals = [evidence.values[labels == piece].sum() for piece in range(count)]
        hidden = np.stack([np.where(labels == piece, 0.0, image) for piece in range(count)])
        after = networks.digit.run(hidden).probs[:, answer]
        assert int(np.argmax(totals)) == int(np.argmin(after)), digit
