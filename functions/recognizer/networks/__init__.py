"""The trained networks, each loaded from its file by a ``load_*`` function; ``Networks`` holds
the set the service uses. Nothing here is global: whoever loads them keeps them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

from recognizer.networks.contract import (
    DIGIT_KERAS,
    DIGIT_TFLITE,
    PROBE_FILE,
    ROW_READER_FILE,
    SCENE_FILE,
    SCENE_TFLITE,
    THRESHOLD_FILE,
)
from recognizer.networks.digit_cnn import (
    DigitModel,
    NotDigitThresholds,
    load_digit_model,
    load_not_digit_thresholds,
)
from recognizer.networks.probe import DigitProbe, load_probe
from recognizer.networks.row_reader import LiteRTRowReader, load_row_reader
from recognizer.networks.scene import NO_SCENE, Scene, SceneJudge, load_scene_judge
from recognizer.vision.rows.segment import RowModels
from recognizer.vision.rows.strip import STRIP_HEIGHT, STRIP_WIDTH
from recognizer.vision.scene import THUMBNAIL_SIDE


@dataclass(frozen=True)
class Networks:
    """The digit CNN with its "not a digit" threshold, the helpers the row segmenter consults
    and the scene judgement of whole uploads (each may be absent)."""

    digit: DigitModel
    not_digit_below: NotDigitThresholds
    probe: DigitProbe | None = None
    row_reader: LiteRTRowReader | None = None
    scene: SceneJudge | None = None

    def warm_up(self) -> None:
        """One blank input through each network: the runtime sets itself up on first use (it
        creates its XNNPACK delegate then), so the first real request does not pay for it."""
        self.digit.run(np.zeros((1, 28, 28), np.float32))
        if self.row_reader is not None:
            self.row_reader.read(np.zeros((1, STRIP_HEIGHT, STRIP_WIDTH), np.float32))
        if self.scene is not None:
            self.scene.photograph_probability(np.zeros((1, THUMBNAIL_SIDE, THUMBNAIL_SIDE, 3), np.float32))

    def scene_of(self, image: Image.Image) -> Scene:
        """What the scene judgement says of this decoded upload (without its model file: no
        photograph, ever)."""
        return NO_SCENE if self.scene is None else self.scene.scene(image)

    def is_photograph(self, image: Image.Image) -> bool:
        """Does the scene judgement refuse this decoded upload as a photograph whatever it
        reads as? (Never without its model file.)"""
        return self.scene_of(image).photograph

    def for_rows(self) -> RowModels:
        """What the row segmenter needs of them."""
        return RowModels(
            run=self.digit.run,
            probe=self.probe,
            reader=self.row_reader,
            not_digit_below=self.not_digit_below.in_row,
        )


def load_networks(
    model_dir: Path, backend: Literal["litert", "keras"] = "litert", *, row_reader: bool = True
) -> Networks:
    """Every network in ``model_dir``: the digit CNN of ``backend`` and its threshold, the probe fitted for the
    LiteRT digit model, (``row_reader``) the whole-row reader when its file is there, and the
    scene judgement when its files are there."""
    digit_file = model_dir / (DIGIT_KERAS if backend == "keras" else DIGIT_TFLITE)
    return Networks(
        digit=load_digit_model(backend, digit_file),
        not_digit_below=load_not_digit_thresholds(model_dir / THRESHOLD_FILE),
        probe=load_probe(model_dir / PROBE_FILE, model_dir / DIGIT_TFLITE),
        row_reader=load_row_reader(model_dir / ROW_READER_FILE) if row_reader else None,
        scene=load_scene_judge(model_dir / SCENE_TFLITE, model_dir / SCENE_FILE),
    )
