"""The scene judgement: a small convolutional network over the whole upload, shrunk to a
thumbnail (``vision.scene.thumbnail``), saying how likely it is a photograph of the world (a
landscape, a cup, a colour wheel, a screenshot, a texture) rather than a picture of writing.

Model file: ``models/scene.tflite``, signature ``serving_default``: input ``thumbnail`` float32
[N, 64, 64, 3] in [0, 1], output ``photograph`` [N, 1] (a probability). ``models/scene.json``
holds the threshold above which the service refuses the upload as a photograph, chosen on
validation uploads of writing (``training.fitting.train_scene``), and how it was trained.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from recognizer.networks.contract import SCENE_INPUT, SCENE_OUTPUT, SIGNATURE_KEY
from recognizer.vision.scene import THUMBNAIL_SIDE, thumbnail

__all__ = ["SceneJudge", "load_scene_judge"]


@dataclass
class SceneJudge:
    """``scene.tflite`` and its threshold."""

    model_path: Path
    photograph_above: float

    def __post_init__(self) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self._interpreter = Interpreter(model_path=str(self.model_path), num_threads=1)
        self._runner = self._interpreter.get_signature_runner(SIGNATURE_KEY)
        self._lock = threading.Lock()  # one invoke at a time per interpreter

    def photograph_probability(self, thumbnails: np.ndarray) -> np.ndarray:
        """P(photograph) [N] of thumbnails float32 [N, 64, 64, 3]."""
        batch = np.ascontiguousarray(
            np.asarray(thumbnails, dtype=np.float32).reshape(-1, THUMBNAIL_SIDE, THUMBNAIL_SIDE, 3)
        )
        with self._lock:
            return np.asarray(self._runner(**{SCENE_INPUT: batch})[SCENE_OUTPUT]).reshape(-1)

    def is_photograph(self, image: Image.Image) -> bool:
        """Is this decoded upload a photograph of the world, not a picture of writing?"""
        return bool(self.photograph_probability(thumbnail(image)[None])[0] > self.photograph_above)


def load_scene_judge(model_file: Path, threshold_file: Path) -> SceneJudge | None:
    """The scene judgement in ``model_file`` with the threshold in ``threshold_file``, or None
    when either file is missing (then no upload is refused as a photograph)."""
    if not model_file.is_file() or not threshold_file.is_file():
        return None
    above = float(json.loads(threshold_file.read_text())["photograph_above"])
    if not 0.0 < above < 1.0:
        raise ValueError(f"{threshold_file}: photograph_above must be in (0, 1), got {above}")
    return SceneJudge(model_file, above)
