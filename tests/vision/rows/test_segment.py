"""Finding each digit of a row: joined strokes, specks, touching digits, boxes, order."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage as ndi

from recognizer.decoding import decode_upload
from recognizer.errors import NoDigitFound
from recognizer.networks import DIGIT_TFLITE, load_networks
from recognizer.networks.probe import PROBE_FILE, load_probe
from recognizer.settings import REPO_MODELS
from recognizer.vision.geometry import Box
from recognizer.vision.rows import segment
from recognizer.vision.rows.cuts import candidate_cuts
from recognizer.vision.rows.pieces import Group
from recognizer.vision.rows.segment import FoundDigit, RowModels, find_digits
from training.data.realistic import mnist_glyph
from training.data.rows import Layout, at_an_angle, layout_digits, make_rows, mnist_strip

MAX_PIXELS = 50_000_000
NETWORKS = load_networks(REPO_MODELS, row_reader=False)  # read-only, shared by the tests here
run_model = NETWORKS.digit.run


def iou(a, b) -> float:
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    shared = max(0, width) * max(0, height)
    return shared / float(a[2] * a[3] + b[2] * b[3] - shared)


def glyphs_of(mnist_sample, digits: list[int], height: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [mnist_glyph(mnist_sample.image_of(d, 1), d).render(height, rng) for d in digits]


def on_paper(alpha: np.ndarray, fmt: str = "PNG", scale: float = 1.0) -> bytes:
    """Dark ink on light paper, optionally resized, as an image file."""
    pixels = np.clip(245.0 - 225.0 * alpha, 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, mode="L")
    if scale != 1.0:
        size = (round(image.width * scale), round(image.height * scale))
        image = image.resize(size, Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def row(
    mnist_sample, digits: list[int], gaps: list[float], touch: list[bool] | None = None, height: int = 80, seed: int = 0
) -> Layout:
    rng = np.random.default_rng(seed)
    return layout_digits(glyphs_of(mnist_sample, digits, height, seed), height, gaps, touch or [False] * len(gaps), rng)


def found_in(data: bytes, run=None) -> list[FoundDigit]:
    """The digits found as the service finds them without the row reader (with ``run``: the
    digit network and the probe cut touching digits; without it, they stay whole)."""
    models = RowModels(run=run, probe=NETWORKS.probe) if run is not None else RowModels()
    return find_digits(decode_upload(data, max_pixels=MAX_PIXELS), models)


def assert_boxes_match(found: list[FoundDigit], truth, scale: float = 1.0, least_iou: float = 0.6) -> None:
    assert len(found) == len(truth), [digit.box for digit in found]
    for digit, box in zip(found, truth, strict=True):
        expected = tuple(v * scale for v in box)
        assert iou(digit.box, expected) >= least_iou, (digit.box, expected)


# --- order and boxes ---------------------------------------------------------------------


def test_spaced_digits_are_found_left_to_right_with_their_boxes(mnist_sample) -> None:
    layout = row(mnist_sample, [3, 1, 4, 1, 5], gaps=[0.4, 0.3, 0.5, 0.35])
    found = found_in(on_paper(layout.alpha))
    assert_boxes_match(found, layout.boxes)
    lefts = [digit.box[0] for digit in found]
    assert lefts == sorted(lefts)
    for digit in found:
        assert digit.model_input.shape == (28, 28) and digit.model_input.dtype == np.float32
        assert digit.model_input.min() >= 0.0 and digit.model_input.max() <= 1.0


@pytest.mark.parametrize("scale", [0.3, 4.0])
def test_boxes_are_in_the_uploaded_images_pixels(mnist_sample, scale: float) -> None:
    """A large photo is read at a reduced working size, a small one enlarged: boxes are not."""
    layout = row(mnist_sample, [2, 7, 0], gaps=[0.5, 0.5], height=120)
    found = found_in(on_paper(layout.alpha, scale=scale))
    assert_boxes_match(found, layout.boxes, scale=scale)


def test_boxes_are_in_upload_pixels_when_a_jpeg_is_decoded_reduced(mnist_sample) -> None:
    layout = row(mnist_sample, [6, 9], gaps=[0.6], height=400)
    data = on_paper(layout.alpha, fmt="JPEG")
    image = decode_upload(data, max_pixels=MAX_PIXELS, draft_side=100)
    assert image.size[0] < Image.open(io.BytesIO(data)).size[0]  # really decoded at reduced scale
    assert_boxes_match(find_digits(image), layout.boxes, least_iou=0.5)


def test_a_strip_of_mnist_images_is_read_as_its_digits(mnist_sample) -> None:
    """Tight frames: a "1" spans the whole height and must not be taken for a ruled line."""
    digits = [1, 4, 1, 7, 1]
    images = np.stack([mnist_sample.image_of(d, 2) for d in digits])
    found = found_in(mnist_strip(images))
    assert len(found) == len(digits)
    for index, digit in enumerate(found):
        assert 28 * index <= digit.box[0] + digit.box[2] / 2 < 28 * (index + 1)


def test_ruled_paper_lines_are_not_digits(mnist_sample) -> None:
    layout = row(mnist_sample, [5, 8, 3], gaps=[0.4, 0.4])
    alpha = layout.alpha.copy()
    for y in range(5, alpha.shape[0], 30):  # printed lines every 30 px, across the digits
        alpha[y : y + 2, :] = np.maximum(alpha[y : y + 2, :], 0.45)
    assert_boxes_match(found_in(on_paper(alpha)), layout.boxes, least_iou=0.5)


# --- broken strokes and specks -----------------------------------------------------------


def test_a_digit_broken_across_is_still_one_digit(mnist_sample) -> None:
    """A "7", "4" and "5" each cut through by a gap (a pen lifted): their pieces are joined."""
    layout = row(mnist_sample, [3, 7, 8, 4, 2, 5], gaps=[0.5] * 5)
    alpha = layout.alpha.copy()
    for x, y, w, h in layout.boxes[1::2]:
        band = y + int(0.45 * h)
        alpha[band : band + 4, x : x + w] = 0.0
    assert_boxes_match(found_in(on_paper(alpha)), layout.boxes, least_iou=0.7)


def test_a_dotted_pencil_line_is_one_digit(mnist_sample) -> None:
    layout = row(mnist_sample, [2, 1, 7, 3], gaps=[0.6, 0.5, 0.5])
    alpha = layout.alpha.copy()
    for x, y, w, h in layout.boxes[1:3]:  # the "1" and the "7" drawn in dots and dashes
        dotted = alpha[y : y + h, x : x + w]
        dotted[(np.arange(h) % 7) < 2, :] = 0.0
    assert_boxes_match(found_in(on_paper(alpha)), layout.boxes, least_iou=0.7)


def test_specks_and_dust_are_ignored(mnist_sample) -> None:
    layout = row(mnist_sample, [8, 0, 6], gaps=[0.5, 0.5])
    alpha = layout.alpha.copy()
    rng = np.random.default_rng(3)
    dust = rng.random(alpha.shape) < 0.003
    alpha[dust] = 1.0
    for _ in range(6):  # small blots, a few pixels across
        y, x = rng.integers(0, alpha.shape[0] - 3), rng.integers(0, alpha.shape[1] - 3)
        alpha[y : y + 3, x : x + 3] = 1.0
    assert_boxes_match(found_in(on_paper(alpha)), layout.boxes, least_iou=0.7)


def test_a_blank_page_or_only_specks_is_no_digit() -> None:
    blank = np.zeros((120, 400), dtype=np.float32)
    with pytest.raises(NoDigitFound):
        found_in(on_paper(blank))
    specks = blank.copy()
    specks[np.random.default_rng(0).random(specks.shape) < 0.002] = 1.0
    with pytest.raises(NoDigitFound):
        found_in(on_paper(specks))


# --- touching digits ---------------------------------------------------------------------


TOUCHING_PAIRS = [[0, 8], [2, 3], [6, 5], [9, 4], [7, 1], [3, 0], [5, 2], [8, 6]]


def touching_pair(mnist_sample, digits: list[int], seed: int) -> Layout:
    layout = row(mnist_sample, digits, gaps=[0.1], touch=[True], seed=seed)
    assert ndi.label(layout.alpha >= 0.5, structure=np.ones((3, 3)))[1] == 1  # they do touch
    return layout


def test_touching_digits_are_split(mnist_sample) -> None:
    """Most touching pairs are cut where they meet (some overlap too much for one cut)."""
    split = 0
    for seed, digits in enumerate(TOUCHING_PAIRS):
        layout = touching_pair(mnist_sample, digits, seed)
        found = found_in(on_paper(layout.alpha), run=run_model)
        split += len(found) == 2 and all(
            iou(digit.box, box) >= 0.5 for digit, box in zip(found, layout.boxes, strict=True)
        )
    assert split >= 6, f"{split} of {len(TOUCHING_PAIRS)} touching pairs split"


def overlapping_pair(mnist_sample, digits: list[int], overlap: float, height: int = 80, seed: int = 0) -> Layout:
    """Two digits whose ink boxes share ``overlap`` of the height in columns: the second
    digit's strokes reach in under or over the first's."""
    first, second = glyphs_of(mnist_sample, digits, height, seed)
    top = 20
    alpha = np.zeros((height + 2 * top + 10, first.shape[1] + second.shape[1] + 80), dtype=np.float32)
    x1 = 30
    x2 = x1 + first.shape[1] - int(overlap * height)
    boxes = []
    for glyph, x in ((first, x1), (second, x2)):
        h, w = glyph.shape
        alpha[top : top + h, x : x + w] = np.maximum(alpha[top : top + h, x : x + w], glyph)
        boxes.append((x, top, w, h))
    return Layout(alpha=alpha, boxes=tuple(boxes))


def overlapping_until_one_piece(mnist_sample, digits: list[int], beyond: float = 0.04) -> Layout:
    """The pair slid together until its ink is one piece, then ``beyond`` of the height more."""
    for overlap in np.arange(0.0, 0.5, 0.02):
        layout = overlapping_pair(mnist_sample, digits, overlap)
        if ndi.label(layout.alpha >= 0.5, structure=np.ones((3, 3)))[1] == 1:
            return overlapping_pair(mnist_sample, digits, overlap + beyond)
    raise AssertionError(f"{digits} never touch")


def read_digits(found: list[FoundDigit]) -> list[int]:
    return run_model(np.stack([digit.model_input for digit in found])).probs.argmax(axis=1).tolist()


def test_two_touching_digits_are_split_into_the_right_two(mnist_sample) -> None:
    layout = touching_pair(mnist_sample, [2, 3], 1)
    found = found_in(on_paper(layout.alpha), run=run_model)
    assert_boxes_match(found, layout.boxes, least_iou=0.5)
    assert read_digits(found) == [2, 3]


@pytest.mark.parametrize("digits", [[2, 7], [3, 8], [5, 3]])
def test_overlapping_digits_are_split_along_their_own_ink(mnist_sample, digits: list[int]) -> None:
    """The boxes share columns, so no straight cut between them exists: the cut must follow
    a path through the overlap, and each digit must read as itself."""
    layout = overlapping_until_one_piece(mnist_sample, digits)
    assert ndi.label(layout.alpha >= 0.5, structure=np.ones((3, 3)))[1] == 1  # one piece of ink
    (x1, _, w1, _), (x2, _, _, _) = layout.boxes
    assert x2 < x1 + w1  # the boxes do overlap
    found = found_in(on_paper(layout.alpha), run=run_model)
    assert_boxes_match(found, layout.boxes, least_iou=0.5)
    probs = run_model(np.stack([digit.model_input for digit in found])).probs
    # Each part reads as its own digit, or nearly: the "5" of 5|3 loses the end of its bar
    # to the cut and reads as 3 (59%) or 5 (41%). A cut through the wrong ink leaves the
    # true digit nowhere near.
    assert all(p.argmax() == d or p[d] >= 0.3 for p, d in zip(probs, digits, strict=True)), probs.round(2)
    assert sum(int(p.argmax() == d) for p, d in zip(probs, digits, strict=True)) >= 1


def test_cuts_are_offered_where_no_thin_column_is(mnist_sample) -> None:
    """Overlapping digits leave no thin column where they meet: evenly spaced cuts still
    offer a path near the true boundary."""
    layout = overlapping_until_one_piece(mnist_sample, [5, 4])
    mask = layout.alpha >= 0.5
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    box = Box(int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1))
    group = Group(box, mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])
    cuts = candidate_cuts(group, height=80.0)
    (x1, _, w1, _), (x2, _, _, _) = layout.boxes
    boundary = (x1 + w1 + x2) / 2 - box[0]
    assert min(abs(float(path.mean()) - boundary) for path, _ in cuts) <= 0.08 * 80
    for path, crossed in cuts:
        assert path.shape == (box[3],) and path.min() >= 0 and path.max() < box[2] and crossed >= 0


def test_without_the_model_touching_digits_stay_one(mnist_sample) -> None:
    layout = touching_pair(mnist_sample, [0, 8], 0)
    assert len(found_in(on_paper(layout.alpha))) == 1


@pytest.mark.parametrize("digit", [0, 4])
def test_a_wide_single_digit_is_not_split(mnist_sample, digit: int) -> None:
    """A "0" or a "4" stretched wide (about as wide as it is tall) stays one digit."""
    glyph = glyphs_of(mnist_sample, [digit], 90)[0]
    wide = np.asarray(Image.fromarray(glyph).resize((95, 90), Image.Resampling.BILINEAR))
    alpha = np.zeros((150, 200), dtype=np.float32)
    alpha[30:120, 50:145] = wide
    found = found_in(on_paper(alpha), run=run_model)
    assert len(found) == 1


def test_generated_rows_are_seeded_and_boxed(mnist_sample) -> None:
    first = list(make_rows(mnist_sample.images, mnist_sample.labels, 6, seed=5))
    again = list(make_rows(mnist_sample.images, mnist_sample.labels, 6, seed=5))
    assert [r.data for r in first] == [r.data for r in again]
    for generated in first:
        assert 2 <= len(generated.number) <= 6 and len(generated.boxes) == len(generated.number)
        width, height = Image.open(io.BytesIO(generated.data)).size
        for x, y, w, h in generated.boxes:
            assert x >= 0 and x + w <= width and y >= 0 and y + h <= height


def test_the_digit_probe_is_fitted_for_the_served_model() -> None:
    assert load_probe(REPO_MODELS / PROBE_FILE, REPO_MODELS / DIGIT_TFLITE) is not None, (
        "models/digit_probe.json is missing or was fitted for another models/digits.tflite: "
        "run python -m training.fitting.fit_digit_probe --data-dir ../shared/data/mnist"
    )


def test_a_probe_fitted_for_another_model_is_not_used(tmp_path) -> None:
    (tmp_path / PROBE_FILE).write_bytes((REPO_MODELS / PROBE_FILE).read_bytes())
    other_model = tmp_path / DIGIT_TFLITE
    other_model.write_bytes((REPO_MODELS / DIGIT_TFLITE).read_bytes() + b"retrained")
    assert load_probe(tmp_path / PROBE_FILE, other_model) is None


def test_a_row_photographed_at_an_angle_is_read_level_with_its_boxes_where_the_digits_lie(
    mnist_sample, monkeypatch
) -> None:
    digits = [3, 0, 7, 2, 6]
    for degrees in (-13.0, 11.0):
        layout = at_an_angle(row(mnist_sample, digits, [0.3] * 4, height=70), rotation=degrees, shear=0.0)
        found = found_in(on_paper(layout.alpha), run=run_model)
        assert read_digits(found) == digits
        for digit, box in zip(found, layout.boxes, strict=True):
            assert iou(digit.box, box) >= 0.5, (digit.box, box)
    # Levelled, each digit is fed upright: as the level row's digits, not turned by the slope.
    level = found_in(on_paper(row(mnist_sample, digits, [0.3] * 4, height=70).alpha), run=run_model)
    turned = on_paper(at_an_angle(row(mnist_sample, digits, [0.3] * 4, height=70), rotation=-13.0, shear=0.0).alpha)
    levelled = found_in(turned, run=run_model)
    monkeypatch.setattr(segment, "levelling", lambda ink: None)
    as_it_lies = found_in(turned, run=run_model)

    def likeness(found: list[FoundDigit]) -> float:
        return float(
            np.mean(
                [
                    np.corrcoef(a.model_input.ravel(), b.model_input.ravel())[0, 1]
                    for a, b in zip(found, level, strict=True)
                ]
            )
        )

    assert likeness(levelled) > likeness(as_it_lies) + 0.05
