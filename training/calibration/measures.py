"""Honest confidence: temperature scaling, the "not a digit" threshold, and calibration error.

All three are fitted or measured on held-out data only (the validation split and held-out
fonts; never the test set). Arrays in, numbers out.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    """Mean NLL of ``labels`` [N] under softmax(``logits`` [N, K] / temperature)."""
    log_probs = log_softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1)
    return float(-log_probs[np.arange(len(labels)), labels].mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature in [0.25, 10] that minimises the NLL of held-out ``labels``
    (Guo et al. 2017, "On calibration of modern neural networks")."""
    found = minimize_scalar(
        lambda log_t: negative_log_likelihood(logits, labels, float(np.exp(log_t))),
        bounds=(np.log(0.25), np.log(10.0)),
        method="bounded",
    )
    return float(np.exp(found.x))


def fit_temperature_for_ece(logits: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """The temperature in [0.3, 5] (a fine grid: ECE is a step function of it) whose answers
    have the smallest ECE: the predicted class among the first ten (the digits), its probability
    among all classes as the confidence."""
    logits = np.asarray(logits, dtype=np.float64)
    predicted = logits[:, :10].argmax(1)  # the same for every temperature
    right = predicted == labels
    best, best_error = 1.0, np.inf
    for temperature in np.exp(np.linspace(np.log(0.3), np.log(5.0), 241)):
        log_probs = log_softmax(logits / temperature, axis=1)
        confidence = np.exp(log_probs[np.arange(len(predicted)), predicted])
        error = expected_calibration_error(confidence, right, bins)
        if error < best_error - 1e-12:
            best, best_error = float(temperature), error
    return best


def refusal_threshold(digit_probability: np.ndarray, max_refused: float, ceiling: float = 0.5) -> float:
    """The highest threshold on P(digit), at most ``ceiling``, under which at most
    ``max_refused`` of these real digits' ``digit_probability`` fall (they would be refused)."""
    values = np.sort(np.asarray(digit_probability, dtype=np.float64).reshape(-1))
    allowed = int(np.floor(max_refused * len(values)))  # digits that may fall under it
    if allowed >= len(values):
        return ceiling
    return float(min(ceiling, values[allowed]))


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    """ECE: the mean gap between confidence and accuracy over ``bins`` equal-width confidence
    bins, weighted by how many answers fall in each. ``confidence`` in [0, 1], ``correct`` bool."""
    confidence = np.asarray(confidence, dtype=np.float64).reshape(-1)
    correct = np.asarray(correct, dtype=bool).reshape(-1)
    if not len(confidence):
        return 0.0
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        chosen = which == b
        if chosen.any():
            total += chosen.sum() * abs(confidence[chosen].mean() - correct[chosen].mean())
    return float(total / len(confidence))
