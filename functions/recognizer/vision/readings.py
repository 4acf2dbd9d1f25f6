"""The ways one digit's upload is read, for the network to answer the surest of them.

In: a decoded upload (Pillow image). Out: one or two float32 [28, 28] inputs: always the ink
map's (``digit.to_model_input``: paper, light, lines and specks taken out, strokes brought to
MNIST's width), and for an upload of few pixels on plain paper its grey levels too
(``grey_levels.grey_level_input``: a scan of a few pixels keeps its partly inked pixels). The
caller runs both in one batch and answers the one the network is surest of
(``networks.digit_cnn.surest``).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from recognizer.vision.digit import to_model_input
from recognizer.vision.grey_levels import grey_level_input
from recognizer.vision.pixelation import grey_upload


def model_inputs(image: Image.Image) -> list[np.ndarray]:
    """The upload's readings, the ink map's first (NoDigitFound when it finds no digit)."""
    upload = grey_upload(image)
    first = to_model_input(image, upload)
    second = grey_level_input(image, upload=upload)
    return [first] if second is None else [first, second]
