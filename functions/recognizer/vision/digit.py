"""One digit: its ink -> the 28x28 input the network was trained on, as MNIST was made.

MNIST digits are white on black, fitted into a 20x20 box keeping their aspect ratio and centred
by centre of mass in a 28x28 field. In: a decoded upload holding one digit, or one digit's ink
crop (float32, any size). Out: float32 [28, 28] in [0, 1], white on black.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from recognizer.errors import NoDigitFound
from recognizer.vision import ndimage as ndi
from recognizer.vision.components import Digit, select_digit
from recognizer.vision.ink import InkMap, ink_map
from recognizer.vision.pixelation import GreyUpload
from recognizer.vision.resample import fit_longest_side
from recognizer.vision.strokes import INK_LEVEL, match_mnist_strokes
from recognizer.vision.tuning import DIGIT, RESOLUTION

MNIST_SIDE = 28
MNIST_BOX = 20
MNIST_CENTRE = 14.0  # mean centre of mass of the MNIST test digits, in pixel indices
STROKE_SCALE = 4  # stroke width is measured and adjusted at 4x the 20 px box


def crop_to_ink(ink: np.ndarray, level: float = INK_LEVEL) -> np.ndarray:
    """The smallest box holding every pixel over ``level`` (NoDigitFound when there is none)."""
    rows = np.flatnonzero((ink > level).any(axis=1))
    cols = np.flatnonzero((ink > level).any(axis=0))
    if rows.size == 0:
        raise NoDigitFound("no digit found: the image looks blank")
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def place_like_mnist(digit: np.ndarray) -> np.ndarray:
    """A digit cropped to its ink and fitted into the 20x20 box -> float32 [28, 28], its peak
    at 1, its centre of mass at MNIST's (14, 14)."""
    peak = float(digit.max())
    if peak <= 0:
        raise NoDigitFound("no digit found: the image looks blank")
    digit = np.clip(digit / peak, 0.0, 1.0)
    field = np.zeros((MNIST_SIDE, MNIST_SIDE), dtype=np.float32)
    height, width = digit.shape
    top, left = (MNIST_SIDE - height) // 2, (MNIST_SIDE - width) // 2
    field[top : top + height, left : left + width] = digit
    cy, cx = ndi.center_of_mass(field)
    dy, dx = int(round(MNIST_CENTRE - cy)), int(round(MNIST_CENTRE - cx))
    dy = int(np.clip(dy, -top, MNIST_SIDE - height - top))
    dx = int(np.clip(dx, -left, MNIST_SIDE - width - left))
    shifted = np.zeros_like(field)
    shifted[top + dy : top + dy + height, left + dx : left + dx + width] = digit
    return shifted


def normalize_digit(ink: np.ndarray) -> np.ndarray:
    """One digit's ink (any size) -> float32 [28, 28] in [0, 1], as MNIST was made.

    Cropped to its ink, strokes brought to MNIST's widths, fitted into a 20x20 box keeping
    its aspect ratio, placed in 28x28 with its centre of mass at MNIST's (14, 14).
    """
    digit = crop_to_ink(np.asarray(ink, dtype=np.float32))
    digit = fit_longest_side(digit, MNIST_BOX * STROKE_SCALE)
    digit = match_mnist_strokes(digit)
    return place_like_mnist(fit_longest_side(crop_to_ink(digit), MNIST_BOX))


def _refined(
    image: Image.Image, first: InkMap, digit: Digit, *, fall_back: bool, upload: GreyUpload | None = None
) -> Digit:
    """Re-read a digit that is small in the working map from the image's own pixels. When
    the closer look finds nothing: the first reading (``fall_back``) or NoDigitFound.
    ``upload``: ``image`` in grey, when worked out already (the crop is cut from it: grey levels
    are worked out pixel by pixel, so cropping first or after gives the same pixels)."""
    x, y, w, h = digit.box
    factor = image.size[0] / first.ink.shape[1]  # image pixels per working pixel
    margin = max(w, h) + DIGIT.refine_margin  # generous: the first reading may have missed faint parts
    left, top = max(0, int((x - margin) * factor)), max(0, int((y - margin) * factor))
    right = min(image.size[0], int(np.ceil((x + w + margin) * factor)))
    bottom = min(image.size[1], int(np.ceil((y + h + margin) * factor)))
    source = image if upload is None else upload.grey
    closer = ink_map(source.crop((left, top, right, bottom)), max_side=RESOLUTION.refine_side, dark_ink=first.dark_ink)
    try:
        if closer.is_blank:
            raise NoDigitFound("no digit found: the image looks blank")
        return select_digit(closer.ink)
    except NoDigitFound:
        if fall_back:
            return digit
        raise


def to_model_input(image: Image.Image, upload: GreyUpload | None = None) -> np.ndarray:
    """A decoded upload holding one digit -> float32 [28, 28] in [0, 1], white on black.
    ``upload``: ``image`` in grey, when worked out already.

    Raises NoDigitFound when the image holds no ink (a blank page is not a guess).
    """
    first = ink_map(image, upload=upload)
    if first.is_blank:
        raise NoDigitFound("no digit found: the image looks blank")
    finer = image.size[0] / max(first.ink.shape[1], 1) > DIGIT.finer_than  # the image has more to show
    try:
        digit = select_digit(first.ink)
    except NoDigitFound:
        if not finer:
            raise
        # A digit a few working pixels tall breaks into specks: look closer at the best of them.
        digit = select_digit(first.ink, min_area=DIGIT.tiny_digit_area)
        return normalize_digit(_refined(image, first, digit, fall_back=False, upload=upload).ink)
    if finer and max(digit.box.w, digit.box.h) < RESOLUTION.refine_below_side:
        digit = _refined(image, first, digit, fall_back=True, upload=upload)
    return normalize_digit(digit.ink)
