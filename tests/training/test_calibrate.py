"""Choosing the "not a digit" threshold per kind of upload, and the per-kind figures."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from training.calibration.calibrate import Inputs, choose_threshold, figures
from training.data.non_digits import NOT_A_DIGIT
from training.evaluation.evaluate_non_digits import FAMILIES, KINDS, items


def inputs(labels: list[int], groups: list[str]) -> Inputs:
    return Inputs(np.zeros((len(labels), 28, 28), np.float32), np.asarray(labels), groups)


def test_the_threshold_refuses_at_most_the_share_allowed_in_every_kind():
    rng = np.random.default_rng(0)
    groups = ["easy"] * 500 + ["hard"] * 500 + ["not_digit:letters"] * 200
    labels = [3] * 1000 + [NOT_A_DIGIT] * 200
    digit_probability = np.concatenate(
        [rng.uniform(0.9, 1.0, 500), rng.uniform(0.0, 1.0, 500), rng.uniform(0.0, 0.05, 200)]
    )
    data = inputs(labels, groups)
    threshold = choose_threshold(digit_probability, data, max_refused=0.01)
    for group in ("easy", "hard"):
        chosen = np.asarray(groups) == group
        assert np.mean(digit_probability[chosen] < threshold) <= 0.01
    # The hard kind decides it: about its own 1% quantile, far under the easy kind's.
    assert threshold < 0.05
    assert np.mean(digit_probability[-200:] < threshold) > 0.1


def test_figures_count_a_refused_digit_as_a_miss():
    probabilities = np.zeros((4, 11))
    probabilities[0, 2] = probabilities[1, 2] = 1.0  # two sure "2"s
    probabilities[2, 2], probabilities[2, NOT_A_DIGIT] = 0.3, 0.7  # a "2" the model doubts
    probabilities[3, NOT_A_DIGIT] = 1.0  # a letter
    data = inputs([2, 2, 2, NOT_A_DIGIT], ["kind", "kind", "kind", "not_digit:letters"])
    report = figures(probabilities, data, threshold=0.5)
    assert report["kind"]["accuracy"] == round(2 / 3, 4) and report["kind"]["refused"] == round(1 / 3, 4)
    assert report["not_digit:letters"] == {"n": 1, "refused": 1.0}


def test_non_digit_uploads_are_images_of_each_kind_in_turn():
    for family in ("scribbles", "shapes", "textures", "blank"):
        made = list(items(family, len(KINDS), fonts=[], seed=5))
        assert [item.kind for item in made] == list(KINDS)
        assert all(item.family == family for item in made)
        for item in made:
            Image.open(io.BytesIO(item.data)).load()
    assert set(FAMILIES) >= {"letters", "symbols", "scribbles", "shapes", "textures", "blank"}
