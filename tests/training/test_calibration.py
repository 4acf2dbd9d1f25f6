"""Temperature scaling, the refusal threshold and the calibration error, on known answers."""

from __future__ import annotations

import numpy as np
import pytest

from training.calibration.measures import (
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
    refusal_threshold,
)


def sampled(logits: np.ndarray, temperature: float, rng: np.random.Generator) -> np.ndarray:
    scaled = logits / temperature
    probs = np.exp(scaled - scaled.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    return np.array([rng.choice(len(p), p=p) for p in probs])


@pytest.mark.parametrize("true_temperature", [0.7, 1.0, 2.5])
def test_fit_temperature_finds_the_temperature_the_labels_were_drawn_with(true_temperature):
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 4, size=(6000, 11))
    labels = sampled(logits, true_temperature, rng)
    found = fit_temperature(logits, labels)
    assert found == pytest.approx(true_temperature, rel=0.1)
    assert negative_log_likelihood(logits, labels, found) <= negative_log_likelihood(logits, labels, 1.0) + 1e-9


def test_refusal_threshold_refuses_at_most_the_share_asked_for():
    rng = np.random.default_rng(0)
    digit_probability = rng.beta(20, 1, size=2000)
    for share in (0.0, 0.004, 0.01, 0.05):
        threshold = refusal_threshold(digit_probability, share)
        assert np.mean(digit_probability < threshold) <= share
        # ...and not far less: the next value up would refuse more than allowed.
        assert np.mean(digit_probability <= threshold) > share or threshold == 0.5


def test_refusal_threshold_never_passes_its_ceiling():
    assert refusal_threshold(np.full(100, 0.99), 0.01) == 0.5
    assert refusal_threshold(np.full(100, 0.99), 0.01, ceiling=0.3) == 0.3


def test_expected_calibration_error():
    rng = np.random.default_rng(1)
    confidence = rng.uniform(0, 1, 200_000)
    calibrated = rng.uniform(0, 1, confidence.size) < confidence
    assert expected_calibration_error(confidence, calibrated) < 0.01
    # Always 90% sure, right half the time: 0.4 off.
    assert expected_calibration_error(np.full(1000, 0.9), np.arange(1000) % 2 == 0) == pytest.approx(0.4)
    assert expected_calibration_error(np.array([]), np.array([], bool)) == 0.0
