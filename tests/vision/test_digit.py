"""Preprocessing: realistic uploads of every kind read as MNIST-like inputs the model gets right.

The per-kind tests turn shipped MNIST test digits (tests/data/mnist_sample.npz, 150 of its 300)
into each kind of upload with training.data.realistic, read them with the service's decoding and
preprocessing, and score them with the committed LiteRT model. The full figures (500 per kind,
fonts too) come from ``python -m training.evaluation.evaluate_preprocessing``.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage as ndi

from recognizer.decoding import decode_upload
from recognizer.errors import NoDigitFound
from recognizer.vision.components import ink_components, select_digit
from recognizer.vision.digit import normalize_digit, to_model_input
from recognizer.vision.ink import InkMap, ink_map
from recognizer.vision.lines import remove_printed_lines
from tests.uploads import encode
from training.data import realistic

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "tests" / "data" / "mnist_sample.npz"
MODEL = REPO / "models" / "digits.tflite"
LIMIT = 25_000_000

# Accuracy per kind on the sample: at least this, and at most this far below the model's own
# accuracy on the same clean digits (the sample holds a few the model gets wrong anyway).
MIN_ACCURACY = 0.96
MAX_DROP_FROM_CLEAN = 0.02
# Issue #16's hands (a scan of a few pixels, a fine pen) are read less well than MNIST's own:
# their floors are what the committed model reads on this sample, less a margin.
KIND_FLOORS = {"low_resolution": 0.85, "hairline_pen": 0.90}


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, np.ndarray]:
    data = np.load(SAMPLE)
    return data["images"], data["labels"]


@pytest.fixture(scope="module")
def model():
    if not MODEL.is_file():
        pytest.skip("models/digits.tflite is not there yet")
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(MODEL), num_threads=1)
    runner = interpreter.get_signature_runner("serving_default")

    def predict(batch: np.ndarray) -> np.ndarray:
        batch = np.asarray(batch, dtype=np.float32).reshape(-1, 28, 28, 1)
        return np.asarray(runner(image=batch)["probs"]).argmax(axis=1)

    return predict


def read(data: bytes) -> np.ndarray:
    return to_model_input(decode_upload(data, max_pixels=LIMIT, draft_side=512))


def read_or_blank(data: bytes) -> np.ndarray:
    """Our reading, or an empty input (scored wrong) when no digit was found."""
    try:
        return read(data)
    except NoDigitFound:
        return np.zeros((28, 28), dtype=np.float32)


def png(pixels: np.ndarray) -> bytes:
    return encode(pixels, "PNG")


def jpeg(pixels: np.ndarray, quality: int = 85) -> bytes:
    return encode(pixels, "JPEG", quality=quality)


def on_paper(digit28: np.ndarray, height: int = 120, frame: tuple[int, int] = (200, 240)) -> np.ndarray:
    """An MNIST digit as dark ink on a white page, ``height`` px tall, centred."""
    glyph = realistic.mnist_glyph(digit28, 0).render(height, np.random.default_rng(0))
    page = np.full(frame, 245.0)
    top, left = (frame[0] - glyph.shape[0]) // 2, (frame[1] - glyph.shape[1]) // 2
    page[top : top + glyph.shape[0], left : left + glyph.shape[1]] -= 225.0 * glyph
    return np.clip(page, 0, 255).astype(np.uint8)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


# Accuracy per kind ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def every_other(sample) -> tuple[np.ndarray, np.ndarray]:
    """150 of the sample's digits, 15 per class: enough to see a kind break, quick to run."""
    images, labels = sample
    return images[::2], labels[::2]


@pytest.fixture(scope="module")
def clean_accuracy(every_other, model) -> float:
    images, labels = every_other
    return float((model(images / 255.0) == labels).mean())


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(realistic.KINDS))
def test_accuracy_per_kind_on_the_sample(kind: str, every_other, model, clean_accuracy: float) -> None:
    images, labels = every_other
    inputs = [read_or_blank(s.data) for s in realistic.mnist_samples(kind, images, labels, len(images))]
    accuracy = float((model(np.stack(inputs)) == labels).mean())
    floor = KIND_FLOORS.get(kind, max(MIN_ACCURACY, clean_accuracy - MAX_DROP_FROM_CLEAN))
    assert accuracy >= floor, f"{kind}: {accuracy:.2%} < {floor:.2%} (model on clean sample: {clean_accuracy:.2%})"


def test_naive_pipeline_fails_where_ours_reads(sample, model) -> None:
    """The original app's grey-resize-divide reads dark ink on paper at about chance level."""
    images, labels = sample
    uploads = list(realistic.mnist_samples("dark_on_light", images[:60], labels[:60], 60))
    naive = [np.asarray(Image.open(io.BytesIO(s.data)).convert("L").resize((28, 28))) / 255.0 for s in uploads]
    ours = [read(s.data) for s in uploads]
    assert (model(np.stack(naive)) == labels[:60]).mean() < 0.5
    assert (model(np.stack(ours)) == labels[:60]).mean() >= 0.95


@pytest.mark.skipif(not realistic.handwriting_fonts(), reason="no handwriting fonts installed (Debian fonts-*)")
def test_handwriting_font_digits_are_read(model) -> None:
    uploads = list(realistic.font_samples("dark_on_light", 100))
    inputs = np.stack([read(s.data) for s in uploads])
    accuracy = (model(inputs) == np.array([s.label for s in uploads])).mean()
    assert accuracy >= 0.9


# The MNIST-style input -----------------------------------------------------------------------


def test_output_is_float32_28x28_in_unit_range(sample) -> None:
    x = read(png(on_paper(sample[0][0])))
    assert x.dtype == np.float32 and x.shape == (28, 28)
    assert x.min() >= 0.0 and x.max() == pytest.approx(1.0)


@pytest.mark.parametrize("index", [0, 31, 62, 93, 124, 155, 186, 217, 248, 279])
def test_digit_fits_a_20_box_and_is_centred_by_mass(sample, index: int) -> None:
    height = 40 + index
    x = read(png(on_paper(sample[0][index], height=height, frame=(height + 80, height + 120))))
    rows, cols = np.nonzero(x > 0.0)
    height, width = np.ptp(rows) + 1, np.ptp(cols) + 1
    assert max(height, width) == 20 and min(height, width) <= 20
    cy, cx = ndi.center_of_mass(x)
    assert abs(cy - 14.0) <= 0.5 and abs(cx - 14.0) <= 0.5


def test_aspect_ratio_is_kept() -> None:
    frame = np.zeros((90, 45), dtype=np.float32)  # a 2:1 upright outline, like a "0"
    frame[:6, :] = frame[-6:, :] = frame[:, :6] = frame[:, -6:] = 1.0
    x = normalize_digit(np.pad(frame, 10))
    rows, cols = np.nonzero(x > 0.2)
    assert np.ptp(rows) + 1 == 20
    assert 9 <= np.ptp(cols) + 1 <= 11


def test_clean_mnist_is_left_nearly_as_it_was(sample) -> None:
    images = sample[0][:30]
    scores = [correlation(to_model_input(Image.fromarray(image)), image) for image in images]
    assert np.median(scores) > 0.9


def test_polarity_either_way_gives_the_same_input(sample) -> None:
    page = on_paper(sample[0][5])
    dark_on_light, light_on_dark = read(png(page)), read(png(255 - page))
    assert correlation(dark_on_light, light_on_dark) > 0.97
    assert ink_map(Image.fromarray(page)).dark_ink
    assert not ink_map(Image.fromarray(255 - page)).dark_ink


def test_exif_rotated_photo_reads_like_the_upright_one(sample) -> None:
    page = on_paper(sample[0][7])
    upright = read(jpeg(page, 95))
    stored = Image.fromarray(page).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    stored.save(buffer, format="JPEG", quality=95, exif=exif.tobytes())
    assert correlation(read(buffer.getvalue()), upright) > 0.95


@pytest.mark.parametrize("fmt", sorted(realistic.EXOTIC_FORMATS))
def test_every_exotic_format_and_mode_reads_like_plain_png(sample, fmt: str) -> None:
    glyph = realistic.mnist_glyph(sample[0][11], int(sample[1][11]))
    data = realistic.kind_exotic_format(glyph, np.random.default_rng(3), fmt)
    reference = to_model_input(Image.fromarray(sample[0][11]))
    assert correlation(read(data), reference) > 0.75


# Blank images are refused, never guessed -------------------------------------------------------


def blank_photo() -> np.ndarray:
    rng = np.random.default_rng(2)
    light = realistic.lighting_field((480, 640), rng, 0.35) * realistic.shadow_field((480, 640), rng, 0.4)
    return np.clip(230 * light + rng.normal(0, 4, (480, 640)), 0, 255).astype(np.uint8)


def blank_notebook(squared: bool) -> np.ndarray:
    rng = np.random.default_rng(4)
    lines = realistic.ruled_lines((400, 300), rng, 32.0, squared, 1.0)
    return np.clip(245 - 110 * lines + rng.normal(0, 2, (400, 300)), 0, 255).astype(np.uint8)


def specks_only() -> np.ndarray:
    rng = np.random.default_rng(5)
    page = np.full((300, 300), 240.0) + rng.normal(0, 3, (300, 300))
    for _ in range(8):
        y, x = rng.integers(10, 290, size=2)
        page[y - 2 : y + 2, x - 2 : x + 2] = 30
    return np.clip(page, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    "data",
    [
        png(np.full((64, 64), 255, np.uint8)),
        png(np.zeros((28, 28), np.uint8)),
        png(np.full((100, 80), 128, np.uint8)),
        jpeg(np.clip(np.random.default_rng(1).normal(235, 5, (300, 400)), 0, 255).astype(np.uint8), 60),
        jpeg(blank_photo(), 75),
        png(blank_notebook(squared=False)),
        png(blank_notebook(squared=True)),
        png(specks_only()),
        png(np.zeros((200, 200, 4), np.uint8)),
    ],
    ids=["white", "black", "grey", "noisy-paper", "photo-with-shadow", "ruled", "squared", "specks", "transparent"],
)
def test_blank_uploads_have_no_digit(data: bytes) -> None:
    with pytest.raises(NoDigitFound) as caught:
        read(data)
    assert caught.value.code == "no_digit_found"


# The pieces the multi-digit reader reuses -----------------------------------------------------


def test_ink_map_is_bounded_and_reports_its_scale() -> None:
    page = np.full((768, 1024), 240, np.uint8)
    page[300:400, 500:520] = 20
    found = ink_map(Image.fromarray(page))
    assert isinstance(found, InkMap)
    assert found.ink.shape == (192, 256) and found.ink.dtype == np.float32
    assert found.scale == pytest.approx(0.25)
    labels, components = ink_components(found.ink)
    (piece,) = components
    x, y, w, h = found.frame.to_upload(piece.box, (10**6, 10**6))
    assert abs(x - 500) <= 4 and abs(y - 300) <= 4 and abs(w - 20) <= 8 and abs(h - 100) <= 8


def test_scale_is_relative_to_the_upload_when_jpeg_was_drafted() -> None:
    page = np.full((1600, 2400), 240, np.uint8)
    page[600:900, 1100:1160] = 20
    image = decode_upload(jpeg(page), max_pixels=LIMIT, draft_side=512)
    assert image.size[0] < 2400
    found = ink_map(image)
    assert found.scale == pytest.approx(256 / 2400, rel=0.01)
    (piece,) = ink_components(found.ink)[1]
    x, y, w, h = found.frame.to_upload(piece.box, (10**6, 10**6))
    assert abs(x - 1100) <= 20 and abs(y - 600) <= 20


def test_ruled_lines_are_not_ink_but_strokes_crossing_them_are(sample) -> None:
    rng = np.random.default_rng(6)
    lines = realistic.ruled_lines((240, 240), rng, 30.0, False, 0.0)
    page = np.clip(on_paper(sample[0][3], height=100, frame=(240, 240)) - 120 * lines, 0, 255).astype(np.uint8)
    found = ink_map(Image.fromarray(page))
    rows_with_ink = (found.ink > 0.5).mean(axis=1)
    assert rows_with_ink.max() < 0.4, "no row is inked across the page"
    clean = read(png(on_paper(sample[0][3], height=100, frame=(240, 240))))
    assert correlation(read(png(page)), clean) > 0.9


def test_a_tall_one_filling_the_frame_is_not_taken_for_a_line() -> None:
    page = np.full((120, 80), 250, np.uint8)
    page[5:115, 36:44] = 10
    rows, cols = np.nonzero(read(png(page)) > 0.5)
    assert np.ptp(rows) + 1 == 20
    assert np.ptp(cols) + 1 <= 5


def test_small_digit_in_a_large_frame_is_found(sample) -> None:
    page = np.full((1200, 1600), 238, np.uint8)
    digit = on_paper(sample[0][9], height=48, frame=(60, 60))
    page[700:760, 300:360] = digit
    reference = read(png(on_paper(sample[0][9])))
    assert correlation(read(jpeg(page, 90)), reference) > 0.85


def test_a_page_photographed_on_a_dark_desk_reads_its_digit(sample) -> None:
    """The desk around the page is dark like ink and touches the frame: it is not the digit."""
    page = on_paper(sample[0][17], height=150, frame=(300, 360))
    photo = np.full((480, 640), 60, np.uint8)
    photo[70:370, 130:490] = page
    reference = read(png(page))
    assert correlation(read(jpeg(photo, 90)), reference) > 0.9


def test_specks_around_a_digit_are_ignored(sample) -> None:
    page = on_paper(sample[0][13], frame=(260, 300))
    clean = read(png(page))
    dotted = page.copy()
    for y, x in [(20, 30), (230, 40), (40, 270), (240, 280), (130, 20)]:
        dotted[y - 2 : y + 2, x - 2 : x + 2] = 20
    assert correlation(read(png(dotted)), clean) > 0.97


def test_select_digit_joins_a_detached_bar() -> None:
    ink = np.zeros((100, 100), np.float32)
    ink[30:80, 30:36] = 1.0  # a "5"'s body, say
    ink[22:27, 30:70] = 1.0  # its bar, drawn apart
    digit = select_digit(ink)
    assert digit.box == (30, 22, 40, 58)


@pytest.mark.parametrize("shape", [(3, 3), (3, 40), (40, 3), (200, 3), (3, 5), (2, 50)])
@pytest.mark.parametrize("level", [0.25, 0.6, 1.0])
def test_line_removal_takes_ink_maps_a_few_pixels_thin(shape: tuple[int, int], level: float) -> None:
    # Found by hypothesis: maps under 4 px on a side are not coarsened, and the line test
    # scaled them as if they were (a ValueError, a 500 for the upload).
    ink = np.full(shape, level, np.float32)
    assert remove_printed_lines(ink).shape == shape
