"""The one split of MNIST's training images into training and validation digits.

In: MNIST training images uint8 [N, 28, 28] and labels [N]. Out: ``(train, validation)`` pairs of
(images, labels). Every step that needs digits no network trained on (calibration, the probe,
the row reader's validation, the evaluations' ``--source val``) takes the validation part of
``default_split``, so that it stays the part the shipped networks never saw.
"""

from __future__ import annotations

import numpy as np

VALIDATION_FRACTION = 0.1
SPLIT_SEED = 42

Pair = tuple[np.ndarray, np.ndarray]


def split_validation(images: np.ndarray, labels: np.ndarray, fraction: float, seed: int) -> tuple[Pair, Pair]:
    """A seeded random ``fraction`` of the images for validation, the rest for training."""
    order = np.random.default_rng(seed).permutation(len(images))
    n_val = max(1, int(round(len(images) * fraction)))
    val, train = order[:n_val], order[n_val:]
    return (images[train], labels[train]), (images[val], labels[val])


def default_split(images: np.ndarray, labels: np.ndarray) -> tuple[Pair, Pair]:
    """The split the shipped networks were trained with."""
    return split_validation(images, labels, VALIDATION_FRACTION, SPLIT_SEED)
