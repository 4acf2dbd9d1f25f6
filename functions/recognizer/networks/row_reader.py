"""The whole-row reader: a small convolutional network that reads a row's digits in one pass.

The segmenter (``vision.rows``) finds each digit and has the digit CNN read it; it must decide
alone how many digits a piece of touching ink holds. The row reader sees the whole row at once
(``vision.rows.strip`` makes its input and decodes its output) and says how many digits each
piece holds and where they sit.

Model file: ``models/row_reader.tflite``, signature ``serving_default``: input ``strip``
float32 [N, 32, 224, 1] in [0, 1] (white ink on black), output ``probs`` [N, 56, 14]
(softmax per column band over ``strip.SYMBOLS``, the digits and ``-.,``; the last index is
CTC's blank). A reader trained on digits alone has 11 outputs and is read as digits only.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from recognizer.networks.contract import ROW_READER_FILE as MODEL_FILE
from recognizer.networks.contract import SIGNATURE_KEY
from recognizer.vision.rows.strip import STRIP_HEIGHT, STRIP_WIDTH

__all__ = ["MODEL_FILE", "LiteRTRowReader", "load_row_reader"]


class LiteRTRowReader:
    """``models/row_reader.tflite`` through its ``serving_default`` signature."""

    def __init__(self, path: Path | None = None, *, content: bytes | None = None) -> None:
        from ai_edge_litert.interpreter import Interpreter

        if content is not None:
            self._interpreter = Interpreter(model_content=content, num_threads=1)
        else:
            self._interpreter = Interpreter(model_path=str(path), num_threads=1)
        self._runner = self._interpreter.get_signature_runner(SIGNATURE_KEY)
        self._lock = threading.Lock()  # one invoke at a time per interpreter

    def read(self, strips: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(np.asarray(strips, dtype=np.float32).reshape(-1, STRIP_HEIGHT, STRIP_WIDTH, 1))
        with self._lock:
            return np.asarray(self._runner(strip=batch)["probs"])


def load_row_reader(path: Path) -> LiteRTRowReader | None:
    """The row reader in ``path``, or None when there is no such file (the segmenter then
    decides alone)."""
    return LiteRTRowReader(path) if path.is_file() else None
