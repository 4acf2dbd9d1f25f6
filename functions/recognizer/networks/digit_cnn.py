"""The digit CNN behind one small interface: one forward pass gives probabilities and both conv layers.

LiteRT (``ai-edge-litert``) is the default backend and needs no TensorFlow; the Keras model is an
optional backend (``MODEL_BACKEND=keras``) that imports TensorFlow/Keras only when chosen.
``load_digit_model`` reads a model file; whoever calls it keeps the object (the ``Recognizer``).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from recognizer.networks.contract import INPUT_NAME, INPUT_SHAPE, OUTPUT_NAMES, SIGNATURE_KEY, THRESHOLD_FILE

__all__ = ["THRESHOLD_FILE", "Activations", "DigitModel", "NotDigitThresholds", "load_digit_model"]


@dataclass(frozen=True)
class Activations:
    """What one forward pass returns for a batch of N inputs."""

    probs: np.ndarray  # [N, 10] softmax: each digit's probability if the input is a digit
    digit: np.ndarray  # [N, 1] the probability that the input is a digit at all
    conv1: np.ndarray  # [N, 26, 26, 32] post-ReLU
    conv2: np.ndarray  # [N, 11, 11, 64] post-ReLU

    def __len__(self) -> int:
        return int(self.probs.shape[0])

    def row(self, index: int) -> Activations:
        """The activations of one input, keeping a batch axis of 1."""
        piece = slice(index, index + 1)
        return Activations(self.probs[piece], self.digit[piece], self.conv1[piece], self.conv2[piece])


def surest(probs: np.ndarray, digit: np.ndarray) -> int:
    """Which of several readings of one upload the network is surest of (``probs`` [N, 10],
    ``digit`` [N, 1], as ``Activations`` holds them): the highest probability of its digit
    times the probability that it is a digit at all."""
    return int(np.argmax(probs.max(axis=1) * digit[:, 0]))


class DigitModel(Protocol):
    backend: str

    def run(self, images: np.ndarray) -> Activations:
        """Run a batch: ``images`` float32 [N,28,28] or [N,28,28,1] in [0, 1]."""
        ...


def as_model_batch(images: np.ndarray) -> np.ndarray:
    """Shape inputs as the signature wants them: contiguous float32 [N, 28, 28, 1]."""
    batch = np.asarray(images, dtype=np.float32)
    if batch.shape == INPUT_SHAPE[:2]:
        batch = batch[None]
    if batch.ndim == 3:
        batch = batch[..., None]
    if batch.ndim != 4 or batch.shape[1:] != INPUT_SHAPE or batch.shape[0] < 1:
        raise ValueError(f"expected images of shape [N, 28, 28(, 1)], got {batch.shape}")
    return np.ascontiguousarray(batch)


class LiteRTModel:
    """The exported LiteRT model, run through its ``serving_default`` signature."""

    backend = "litert"

    def __init__(self, path: Path) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_path=str(path), num_threads=1)
        self._runner = self._interpreter.get_signature_runner(SIGNATURE_KEY)
        # A LiteRT interpreter holds its tensors in place: one invoke at a time.
        self._lock = threading.Lock()

    def run(self, images: np.ndarray) -> Activations:
        batch = as_model_batch(images)
        with self._lock:
            outputs = self._runner(**{INPUT_NAME: batch})
        return Activations(*(np.asarray(outputs[name]) for name in OUTPUT_NAMES))


class KerasModel:
    """The Keras serving model (the same outputs as the LiteRT signature, by name)."""

    backend = "keras"

    def __init__(self, path: Path) -> None:
        import keras  # heavy (TensorFlow): only when this backend is chosen

        self._model = keras.saving.load_model(path, compile=False)
        self._lock = threading.Lock()

    def run(self, images: np.ndarray) -> Activations:
        batch = as_model_batch(images)
        with self._lock:
            # Its one input in the structure it was built with (a bare tensor or a list of one):
            # called otherwise, Keras warns on every call.
            inputs = [batch] if isinstance(self._model._inputs_struct, list) else batch
            outputs = self._model(inputs, training=False)
        return Activations(*(np.asarray(outputs[name]) for name in OUTPUT_NAMES))


@dataclass(frozen=True)
class NotDigitThresholds:
    """P(digit) under which an input is answered "not a digit": one upload, and one part of a
    row (cut from a row at a lower resolution, it looks less clean), chosen with the model on
    its validation data (``digits.json`` beside the model files)."""

    alone: float
    in_row: float


def load_not_digit_thresholds(path: Path) -> NotDigitThresholds:
    chosen = json.loads(path.read_text())
    alone = float(chosen["not_digit_below"])
    in_row = float(chosen.get("not_digit_below_in_rows", alone))
    for name, value in (("not_digit_below", alone), ("not_digit_below_in_rows", in_row)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{path}: {name} must be in [0, 1), got {value}")
    return NotDigitThresholds(alone, in_row)


def load_digit_model(backend: Literal["litert", "keras"], path: Path) -> DigitModel:
    """The model in ``path`` (a .tflite file for ``litert``, a .keras file for ``keras``)."""
    if backend == "keras":
        return KerasModel(path)
    return LiteRTModel(path)
