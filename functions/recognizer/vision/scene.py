"""The whole upload at a glance, for the scene judgement (``recognizer.networks.scene``): is this
a picture of writing (paper, a canvas, a whiteboard, a photo of a note) or a photograph of the
world, a screenshot, a texture?

``thumbnail``: a decoded upload (``L`` or ``RGB``, any size) -> float32 [64, 64, 3] in [0, 1],
the whole frame squeezed to a square, colour kept. Training makes its thumbnails with this same
function (``training.data.scenes``).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

THUMBNAIL_SIDE = 64
# A large upload is sampled on a grid this size first: a 12-megapixel photo costs 65k pixel reads,
# not 12 million; averaging the samples 4x4 then smooths what the sampling aliased.
SAMPLE_SIDE = 4 * THUMBNAIL_SIDE


def thumbnail(image: Image.Image) -> np.ndarray:
    """``image`` as the scene judgement sees it: float32 [64, 64, 3] in [0, 1]."""
    side = (THUMBNAIL_SIDE, THUMBNAIL_SIDE)
    small = image
    if min(image.size) > SAMPLE_SIDE:
        small = small.resize((SAMPLE_SIDE, SAMPLE_SIDE), Image.Resampling.NEAREST)
    enlarging = min(small.size) < THUMBNAIL_SIDE
    small = small.resize(side, Image.Resampling.BILINEAR if enlarging else Image.Resampling.BOX)
    rgb = small if small.mode == "RGB" else small.convert("RGB")
    return np.asarray(rgb, dtype=np.float32) / 255.0
