"""Properties of decoding and preprocessing, for any input hypothesis can think of.

- ``decode_upload``: any bytes give an upright, opaque 8-bit image (L or RGB) or a ClientError,
  never another exception;
- ``to_model_input``: any image gives a float32 28x28 input in [0, 1] or NoDigitFound.

Bounded under ``make test`` (deterministic examples), full under ``make reliability``.
"""

from __future__ import annotations

import io
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from recognizer.api.errors import status_of
from recognizer.decoding import decode_upload
from recognizer.errors import ClientError, NoDigitFound
from recognizer.vision.digit import to_model_input
from tests.reliability.corpus import mnist_sample_digits, paper_digit, seed_files
from tests.reliability.scale import current_scale

# Pillow warns about the corrupt EXIF hypothesis writes; what counts is that nothing raises.
pytestmark = pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")

SCALE = current_scale()
MAX_PIXELS = 25_000_000
EXAMPLES: Counter[str] = Counter()

property_settings = settings(
    max_examples=SCALE.property_examples,
    deadline=None,
    derandomize=not SCALE.full,  # make test: the same examples every run
    database=None if not SCALE.full else settings.default.database,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SEEDS = seed_files(next(pixels for label, pixels in mnist_sample_digits(10) if label == 5))
SEED_NAMES = sorted(SEEDS)
MODES = ("L", "RGB", "RGBA", "LA", "P", "1", "I;16", "I", "F", "CMYK")
FORMATS = {
    "PNG": ("L", "RGB", "RGBA", "LA", "P", "1", "I;16"),
    "JPEG": ("L", "RGB", "CMYK"),
    "GIF": ("L", "P"),
    "BMP": ("L", "RGB", "P", "1"),
    "WEBP": ("RGB", "RGBA"),
    "TIFF": ("L", "RGB", "RGBA", "P", "1", "I;16", "I", "F", "CMYK"),
}


def decoded_or_refused(data: bytes) -> Image.Image | None:
    """The property of decode_upload; the image when it decoded."""
    try:
        image = decode_upload(data, max_pixels=MAX_PIXELS)
    except ClientError as error:
        assert 400 <= status_of(error) < 500 and error.code and error.message
        return None
    assert image.mode in ("L", "RGB")
    assert image.width > 0 and image.height > 0
    return image


def model_input_or_no_digit(image: Image.Image) -> np.ndarray | None:
    """The property of to_model_input; the input when there was a digit."""
    try:
        model_input = to_model_input(image)
    except NoDigitFound:
        return None
    assert model_input.shape == (28, 28)
    assert model_input.dtype == np.float32
    assert np.isfinite(model_input).all()
    assert model_input.min() >= 0.0 and model_input.max() <= 1.0
    assert model_input.max() > 0.0  # an answer always has ink
    return model_input


@st.composite
def mutated_seeds(draw) -> bytes:
    """A valid digit file with hypothesis' own edits: overwritten bytes, cuts, insertions."""
    data = bytearray(SEEDS[draw(st.sampled_from(SEED_NAMES))])
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, max(0, len(data) - 1)))
        kind = draw(st.sampled_from(("set", "cut", "insert", "delete")))
        if kind == "set" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 64))]
    return bytes(data)


@st.composite
def images(draw) -> Image.Image:
    """Images of any mode, size (thin strips included) and content: noise, flat fields,
    strokes, a real digit, each maybe inverted or faint."""
    mode = draw(st.sampled_from(MODES))
    thin = draw(st.booleans())
    width = draw(st.integers(1, 4 if thin else 400))
    height = draw(st.integers(1, 3000 if thin else 400))
    if draw(st.booleans()):
        width, height = height, width
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    content = draw(st.sampled_from(("noise", "flat", "strokes", "digit")))
    if content == "noise":
        grey = rng.integers(0, 256, (height, width)).astype(np.float64)
    elif content == "flat":
        grey = np.full((height, width), float(draw(st.integers(0, 255))))
    elif content == "strokes":
        grey = np.full((height, width), 255.0)
        for _ in range(draw(st.integers(1, 5))):
            y, x = rng.integers(0, height), rng.integers(0, width)
            grey[max(0, y - 3) : y + 3, max(0, x - 40) : x + 40] = rng.integers(0, 120)
    else:
        digit = paper_digit(SEEDS_PIXELS[draw(st.integers(0, len(SEEDS_PIXELS) - 1))])
        grey = np.asarray(digit.resize((width, height)), dtype=np.float64)
    if draw(st.booleans()):
        grey = 255.0 - grey
    contrast = draw(st.sampled_from((1.0, 0.1, 0.02)))
    grey = 128.0 + (grey - 128.0) * contrast
    return image_in_mode(np.clip(grey, 0, 255), mode, rng)


SEEDS_PIXELS = [pixels for _, pixels in mnist_sample_digits(12)]


def image_in_mode(grey: np.ndarray, mode: str, rng: np.random.Generator) -> Image.Image:
    base = Image.fromarray(np.rint(grey).astype(np.uint8), mode="L")
    if mode == "I;16":
        return Image.fromarray((grey * 257.0).astype(np.uint16))
    if mode == "I":
        return Image.fromarray((grey * 1000.0 - 5000.0).astype(np.int32), mode="I")
    if mode == "F":
        values = (grey / 255.0).astype(np.float32)
        if rng.random() < 0.3:
            values[rng.integers(0, values.shape[0]), rng.integers(0, values.shape[1])] = np.nan
        return Image.fromarray(values, mode="F")
    if mode in ("RGBA", "LA"):
        converted = base.convert(mode)
        converted.putalpha(
            Image.fromarray(rng.integers(0, 256, grey.shape).astype(np.uint8), mode="L")
            if rng.random() < 0.5
            else base.point(lambda v: 255 - v)
        )
        return converted
    return base.convert(mode)


@pytest.fixture(scope="module", autouse=True)
def record_examples(figures):
    yield
    figures.setdefault("properties", {}).update(dict(EXAMPLES))


@property_settings
@given(st.binary(max_size=4096))
def test_any_bytes_decode_to_an_image_or_a_client_error(data: bytes) -> None:
    EXAMPLES["decode_upload, random bytes"] += 1
    decoded_or_refused(data)


@property_settings
@given(
    st.sampled_from(sorted(SEEDS))
    .map(lambda name: SEEDS[name][:8])
    .flatmap(lambda head: st.binary(max_size=2048).map(lambda tail: head + tail))
)
def test_any_bytes_behind_an_image_signature_decode_or_are_refused(data: bytes) -> None:
    EXAMPLES["decode_upload, signature + random bytes"] += 1
    decoded_or_refused(data)


@property_settings
@given(mutated_seeds())
def test_mutated_images_decode_and_preprocess_or_are_refused(data: bytes) -> None:
    EXAMPLES["decode_upload + to_model_input, mutated images"] += 1
    image = decoded_or_refused(data)
    if image is not None:
        model_input_or_no_digit(image)


@property_settings
@given(images())
def test_any_image_becomes_a_model_input_or_no_digit(image: Image.Image) -> None:
    EXAMPLES["to_model_input, any image"] += 1
    opaque = decoded_or_refused(encode_losslessly(image))
    assert opaque is not None, f"a valid {image.mode} {image.size} TIFF was refused"
    model_input_or_no_digit(opaque)


@property_settings
@given(images(), st.sampled_from(sorted(FORMATS)))
def test_any_image_in_any_format_decodes_and_preprocesses(image: Image.Image, fmt: str) -> None:
    EXAMPLES["encode + decode_upload + to_model_input, any image and format"] += 1
    mode = image.mode if image.mode in FORMATS[fmt] else FORMATS[fmt][0]
    source = image if mode == image.mode else image.convert("RGB" if mode == "RGB" else mode)
    buffer = io.BytesIO()
    try:
        source.save(buffer, format=fmt)
    except (OSError, ValueError):
        return  # a size or mode this encoder will not write is not an upload anyone can send
    decoded = decoded_or_refused(buffer.getvalue())
    if decoded is not None:
        model_input_or_no_digit(decoded)


def encode_losslessly(image: Image.Image) -> bytes:
    """TIFF keeps every mode drawn here as it is."""
    buffer = io.BytesIO()
    image.save(buffer, format="TIFF")
    return buffer.getvalue()
