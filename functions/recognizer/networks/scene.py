"""The scene judgement: a small convolutional network over the whole upload, shrunk to a
thumbnail (``vision.scene.thumbnail``), saying how likely it is a photograph of the world (a
landscape, a cup, a colour wheel, a screenshot, a texture) rather than a picture of writing.

Model file: ``models/scene.tflite``, signature ``serving_default``: input ``thumbnail`` float32
[N, 64, 64, 3] in [0, 1], output ``photograph`` [N, 1] (a probability). ``models/scene.json``
holds the rule (``SceneRule``): the threshold above which the service refuses any upload as a
photograph, and a lower one above which it refuses one whose digit the digit network does not
read surely, both chosen through the service on validation uploads
(``training.calibration.scene_rule``; ``training.fitting.train_scene``'s own threshold is one
candidate), and how.
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

__all__ = ["NO_SCENE", "Scene", "SceneJudge", "SceneRule", "load_scene_judge"]


@dataclass(frozen=True)
class SceneRule:
    """When an upload is refused as a photograph: whatever it reads as when P(photograph) is
    above ``photograph_above``; when it is above ``likely_above``, unless the digit network reads
    a digit in it with at least ``unless_read_surely`` confidence (a note photographed on a table
    reads surely; a landscape's bright bar mostly does not)."""

    photograph_above: float
    likely_above: float
    unless_read_surely: float

    @classmethod
    def alone(cls, photograph_above: float) -> SceneRule:
        """The scene judgement's threshold alone: nothing refused for being read unsurely."""
        return cls(photograph_above, photograph_above, 0.0)


@dataclass(frozen=True)
class Scene:
    """What the scene judgement says of one upload."""

    probability: float  # P(photograph of the world)
    rule: SceneRule

    @property
    def photograph(self) -> bool:
        """Refused as a photograph whatever it reads as."""
        return self.probability > self.rule.photograph_above

    def refuses(self, confidence: float) -> bool:
        """Refused as a photograph, read with ``confidence`` (in [0, 1]: the answered digit's
        probability times P(digit))."""
        likely = self.probability > self.rule.likely_above
        return self.photograph or (likely and confidence < self.rule.unless_read_surely)


NO_SCENE = Scene(0.0, SceneRule.alone(1.0))  # no scene judgement: nothing is a photograph


@dataclass
class SceneJudge:
    """``scene.tflite`` and its rule."""

    model_path: Path
    rule: SceneRule

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

    def scene(self, image: Image.Image) -> Scene:
        """What the judgement says of this decoded upload."""
        return Scene(float(self.photograph_probability(thumbnail(image)[None])[0]), self.rule)

    def is_photograph(self, image: Image.Image) -> bool:
        """Is this decoded upload a photograph of the world whatever it reads as?"""
        return self.scene(image).photograph


def load_scene_judge(model_file: Path, rule_file: Path) -> SceneJudge | None:
    """The scene judgement in ``model_file`` with the rule in ``rule_file``, or None when either
    file is missing (then no upload is refused as a photograph). A rule file with the threshold
    alone (``photograph_above``) refuses nothing for being read unsurely."""
    if not model_file.is_file() or not rule_file.is_file():
        return None
    saved = json.loads(rule_file.read_text())
    above = float(saved["photograph_above"])
    rule = SceneRule(
        above,
        float(saved.get("photograph_likely_above", above)),
        float(saved.get("unless_read_surely", 0.0)),
    )
    for name, value in (("photograph_above", above), ("photograph_likely_above", rule.likely_above)):
        if not 0.0 < value < 1.0:
            raise ValueError(f"{rule_file}: {name} must be in (0, 1), got {value}")
    if rule.likely_above > above or not 0.0 <= rule.unless_read_surely <= 1.0:
        raise ValueError(
            f"{rule_file}: photograph_likely_above must be at most photograph_above and unless_read_surely in [0, 1]"
        )
    return SceneJudge(model_file, rule)
