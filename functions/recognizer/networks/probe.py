"""The digit probe: a small network over what the digit CNN makes of a part of a row (its
``vision.rows.choose.FEATURES``), saying how likely the part is exactly one digit.

Fitted by ``python -m training.fitting.fit_digit_probe`` for one digit model file (its SHA-256 is in the
probe's file): the convolution features mean nothing for another model, so a probe fitted for
another file is not loaded and touching digits are then cut by shape alone.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recognizer.networks.contract import PROBE_FILE
from recognizer.vision.rows.choose import FEATURES

__all__ = ["PROBE_FILE", "DigitProbe", "load_probe"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DigitProbe:
    """A small neural network over FEATURES (one hidden layer): how likely a part of a row is
    exactly one digit.

    Fitted by ``python -m training.fitting.fit_digit_probe`` on rows made from MNIST training digits,
    for one model file (its SHA-256); the convolution features mean nothing for another.
    """

    mean: np.ndarray  # [F] feature standardisation
    scale: np.ndarray  # [F]
    hidden_weights: np.ndarray  # [F, H]
    hidden_bias: np.ndarray  # [H]
    output_weights: np.ndarray  # [H]
    output_bias: float

    def log_one_digit(self, features: np.ndarray) -> np.ndarray:
        standard = (features - self.mean) / self.scale
        hidden = np.maximum(0.0, standard @ self.hidden_weights + self.hidden_bias)
        logit = hidden @ self.output_weights + self.output_bias
        return -np.logaddexp(0.0, -logit)  # log sigmoid, without overflow


def load_probe(path: Path, model_file: Path) -> DigitProbe | None:
    """The probe fitted for ``model_file``, or None (missing, or fitted for another model)."""
    if not path.is_file() or not model_file.is_file():
        return None
    spec = json.loads(path.read_text())
    if spec.get("model_sha256") != hashlib.sha256(model_file.read_bytes()).hexdigest():
        logger.warning("%s was fitted for another model file: touching digits are cut by shape only", path)
        return None
    if tuple(spec["features"]) != FEATURES:
        logger.warning("%s has other features than this code: not used", path)
        return None
    return DigitProbe(
        mean=np.asarray(spec["mean"], dtype=np.float64),
        scale=np.asarray(spec["scale"], dtype=np.float64),
        hidden_weights=np.asarray(spec["hidden_weights"], dtype=np.float64),
        hidden_bias=np.asarray(spec["hidden_bias"], dtype=np.float64),
        output_weights=np.asarray(spec["output_weights"], dtype=np.float64),
        output_bias=float(spec["output_bias"]),
    )
