"""The trained networks, each loaded from its file by a ``load_*`` function; ``Networks`` holds
the set the service uses. Nothing here is global: whoever loads them keeps them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from recognizer.networks.contract import DIGIT_KERAS, DIGIT_TFLITE, PROBE_FILE, ROW_READER_FILE, THRESHOLD_FILE
from recognizer.networks.digit_cnn import (
    DigitModel,
    NotDigitThresholds,
    load_digit_model,
    load_not_digit_thresholds,
)
from recognizer.networks.probe import DigitProbe, load_probe
from recognizer.networks.row_reader import LiteRTRowReader, load_row_reader
from recognizer.vision.rows.segment import RowModels
from recognizer.vision.rows.strip import STRIP_HEIGHT, STRIP_WIDTH


@dataclass(frozen=True)
class Networks:
    """The digit CNN with its "not a digit" threshold, and the helpers the row segmenter
    consults (each may be absent)."""

    digit: DigitModel
    not_digit_below: NotDigitThresholds
    probe: DigitProbe | None = None
    row_reader: LiteRTRowReader | None = None

    def warm_up(self) -> None:
        """One blank input through each network: the runtime sets itself up on first use (it
        creates its XNNPACK delegate then), so the first real request does not pay for it."""
        self.digit.run(np.zeros((1, 28, 28), np.float32))
        if self.row_reader is not None:
            self.row_reader.read(np.zeros((1, STRIP_HEIGHT, STRIP_WIDTH), np.float32))

    def for_rows(self) -> RowModels:
        """What the row segmenter needs of them."""
        return RowModels(run=self.digit.run, probe=self.probe, reader=self.row_reader)


def load_networks(
    model_dir: Path, backend: Literal["litert", "keras"] = "litert", *, row_reader: bool = True
) -> Networks:
    """Every network in ``model_dir``: the digit CNN of ``backend`` and its threshold, the probe fitted for the
    LiteRT digit model, and (``row_reader``) the whole-row reader when its file is there."""
    digit_file = model_dir / (DIGIT_KERAS if backend == "keras" else DIGIT_TFLITE)
    return Networks(
        digit=load_digit_model(backend, digit_file),
        not_digit_below=load_not_digit_thresholds(model_dir / THRESHOLD_FILE),
        probe=load_probe(model_dir / PROBE_FILE, model_dir / DIGIT_TFLITE),
        row_reader=load_row_reader(model_dir / ROW_READER_FILE) if row_reader else None,
    )
