"""Small uploads on plain paper are read by their grey levels too (vision/grey_levels.py,
vision/readings.py), and the service answers the reading the network is surest of."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from recognizer.decoding import decode_upload
from recognizer.errors import NoDigitFound
from recognizer.service import Recognizer
from recognizer.vision.digit import to_model_input
from recognizer.vision.grey_levels import grey_level_input
from recognizer.vision.readings import model_inputs
from training.data import realistic

MAX_PIXELS = 50_000_000


def _scan(digit28: np.ndarray, native: int = 9, factor: int = 8, dark_ink: bool = True) -> Image.Image:
    """An MNIST digit scanned in ``native`` px and enlarged ``factor`` times, block by block."""
    small = Image.fromarray(digit28, mode="L").resize((native, native), Image.Resampling.BOX)
    values = np.asarray(small, dtype=np.float32)
    pixels = 240.0 - 0.85 * values if dark_ink else 20.0 + 0.85 * values
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="L")
    return image.resize((native * factor, native * factor), Image.Resampling.NEAREST)


def test_a_blocky_scan_is_read_as_an_mnist_digit(mnist_sample) -> None:
    digit = mnist_sample.image_of(8)
    for dark_ink in (True, False):
        reading = grey_level_input(_scan(digit, dark_ink=dark_ink), dark_ink=dark_ink)
        assert reading is not None and reading.shape == (28, 28) and reading.max() == pytest.approx(1.0)
        mnist = to_model_input(Image.fromarray(digit, mode="L"))
        assert np.corrcoef(reading.ravel(), mnist.ravel())[0, 1] > 0.6
        assert 0.05 < (reading > 0.5).mean() < 0.35  # grey strokes, neither specks nor a blob


def test_photos_pages_and_ruled_paper_are_left_to_the_ink_map(mnist_sample) -> None:
    digit = mnist_sample.image_of(3)
    large = _scan(digit, native=40, factor=1).resize((320, 320), Image.Resampling.BICUBIC)
    assert grey_level_input(large, dark_ink=True) is None  # a drawing of 320 px, not a scan of few
    assert grey_level_input(_scan(digit, native=40, factor=8), dark_ink=True) is not None  # 40 px, blown up
    uneven = np.asarray(_scan(digit), dtype=np.float32) * np.linspace(0.4, 1.0, 72)[None, :]
    assert grey_level_input(Image.fromarray(uneven.astype(np.uint8), mode="L"), dark_ink=True) is None
    ruled = np.asarray(_scan(digit), dtype=np.uint8).copy()
    ruled[::8] = 120
    assert grey_level_input(Image.fromarray(ruled, mode="L"), dark_ink=True) is None
    assert grey_level_input(Image.new("L", (60, 60), 230), dark_ink=True) is None  # no ink


def test_a_small_upload_has_two_readings_a_photo_one(mnist_sample) -> None:
    assert len(model_inputs(_scan(mnist_sample.image_of(2)))) == 2
    photo = next(realistic.mnist_samples("photo_uneven_light", mnist_sample.images[:1], mnist_sample.labels[:1], 1))
    assert len(model_inputs(decode_upload(photo.data, max_pixels=MAX_PIXELS))) == 1


def test_low_resolution_scans_are_read_better_with_both_readings(offline: Recognizer, mnist_sample) -> None:
    images, labels = mnist_sample.images, mnist_sample.labels
    uploads = list(realistic.mnist_samples("low_resolution", images, labels, len(images), seed=9))
    found = [u for u in uploads if _has_ink(u.data)]
    served = [offline.predict_digit(u.data, store=False).predicted_digit for u in found]
    ink_map_alone = offline.networks.digit.run(
        np.stack([to_model_input(decode_upload(u.data, max_pixels=MAX_PIXELS)) for u in found])
    ).probs.argmax(axis=1)
    labels = np.asarray([u.label for u in found])
    assert len(found) >= 0.95 * len(uploads)
    served_right = float(np.mean(np.asarray(served) == labels))
    alone_right = float(np.mean(ink_map_alone == labels))
    assert served_right > alone_right and served_right >= 0.9, (served_right, alone_right)


def _has_ink(data: bytes) -> bool:
    try:
        to_model_input(decode_upload(data, max_pixels=MAX_PIXELS))
    except NoDigitFound:
        return False
    return True


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_answer_and_its_stored_input_are_the_surest_reading(offline: Recognizer, mnist_sample) -> None:
    answer = offline.predict_digit(_png(_scan(mnist_sample.image_of(7))), store=False)
    assert answer.predicted_digit == 7 and answer.is_digit
