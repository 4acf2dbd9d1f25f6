"""A small upload on plain paper read by its grey levels, as MNIST's digits were made.

MNIST's digits are grey: each was scanned, fitted into 20x20 pixels with antialiasing and
centred. A digit scanned in a few pixels and enlarged (blocky or blurry) is already such a grey
image at a low resolution; deciding ink pixel by pixel (``ink``) loses its partly covered pixels
and with them thin strokes and small loops. Here the paper's level is taken from the image's
edge and every pixel keeps its share of ink.

In: a decoded upload (Pillow image), its polarity when known. Out: float32 [28, 28] in [0, 1], white on
black, or None when the upload is not a small image on plain paper (a photo, ruled paper, a page:
those need the ink map).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from recognizer.vision.digit import MNIST_BOX, crop_to_ink, place_like_mnist
from recognizer.vision.pixelation import GreyUpload, grey_upload
from recognizer.vision.polarity import ink_is_dark
from recognizer.vision.resample import fit_longest_side
from recognizer.vision.tuning import GREY_LEVELS, PIXELATION


def grey_level_input(
    image: Image.Image, dark_ink: bool | None = None, upload: GreyUpload | None = None
) -> np.ndarray | None:
    """The digit's grey levels as the network's input, for an upload of few pixels (at its own
    resolution: blocks undone) on plain paper. ``dark_ink`` None: the upload's polarity.
    ``upload``: ``image`` in grey, when worked out already."""
    if max(image.size) > PIXELATION.max_side:
        return None
    upload = upload or grey_upload(image)
    native = upload.native
    if max(native.size) > GREY_LEVELS.max_side:
        return None  # a photo or a page (or a large drawing): the ink map reads it
    grey = np.asarray(native, dtype=np.float32) / 255.0
    edge = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    paper = float(np.median(edge))
    if float(np.percentile(np.abs(edge - paper), 75)) > GREY_LEVELS.plain_paper:
        return None  # uneven light, lines or a desk at the edge: not plain paper
    if dark_ink is None:
        dark_ink = ink_is_dark(np.asarray(upload.grey, dtype=np.float32) / 255.0)
    ink = paper - grey if dark_ink else grey - paper
    strongest = float(ink.max())
    if strongest < GREY_LEVELS.min_contrast:
        return None
    ink = np.clip(ink / strongest, 0.0, 1.0)
    ink = np.where(ink < GREY_LEVELS.paper_below, 0.0, ink).astype(np.float32)
    return place_like_mnist(fit_longest_side(crop_to_ink(ink, GREY_LEVELS.paper_below), MNIST_BOX))
