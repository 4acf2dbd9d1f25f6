"""The whole-row reader: its strip, its best reading, the model file, and how the segmenter
uses its counts (cut a piece into exactly that many digits, or leave it whole)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from recognizer.decoding import decode_upload
from recognizer.networks.row_reader import MODEL_FILE, load_row_reader
from recognizer.settings import REPO_MODELS, Settings
from recognizer.vision.geometry import Box
from recognizer.vision.rows.choose import choose_exactly, choose_parts, cut_options
from recognizer.vision.rows.cuts import stroke_px
from recognizer.vision.rows.fusion import (
    PieceReading,
    digits_per_piece,
    fold_unread,
    read_whole_row,
    with_row_reading,
)
from recognizer.vision.rows.pieces import (
    components_as_groups,
    may_hold_several,
    row_groups,
    row_height,
)
from recognizer.vision.rows.segment import RowModels, find_digits, row_ink_map, segment_ink
from recognizer.vision.rows.strip import (
    BLANK,
    DIGIT_HEIGHT,
    MARGIN,
    STEPS,
    STRIP_HEIGHT,
    STRIP_WIDTH,
    SYMBOLS,
    Emission,
    Strip,
    best_reading,
    row_band,
    row_strip,
)
from recognizer.vision.rows.tuning import FUSION
from tests.not_digits import mark_alpha
from tests.vision.rows.test_segment import (
    MAX_PIXELS,
    NETWORKS,
    on_paper,
    overlapping_until_one_piece,
    row,
    run_model,
    touching_pair,
)
from training.data.rows import make_rows


def blocks(shape: tuple[int, int], boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    ink = np.zeros(shape, np.float32)
    for x, y, w, h in boxes:
        ink[y : y + h, x : x + w] = 1.0
    return ink


def probs_for(symbols: list[int], peak: float = 0.99) -> np.ndarray:
    """Per-step probabilities whose likeliest symbol at step i is symbols[i] (``peak``)."""
    probs = np.full((STEPS, BLANK + 1), 0.01, np.float32)
    padded = symbols + [BLANK] * (STEPS - len(symbols))
    probs[np.arange(STEPS), padded] = peak
    return probs


class FakeReader:
    """Reads every strip as the given per-step symbols, each as surely as ``peak``."""

    def __init__(self, symbols: list[int], peak: float = 0.99) -> None:
        self.symbols = symbols
        self.peak = peak
        self.strips: list[np.ndarray] = []

    def read(self, strips: np.ndarray) -> np.ndarray:
        self.strips.append(strips)
        return probs_for(self.symbols, self.peak)[None].repeat(len(strips), axis=0)


# --- the strip ---------------------------------------------------------------------------


def test_a_row_is_scaled_so_its_digits_are_twenty_pixels_tall() -> None:
    ink = blocks((200, 400), [(50, 60, 30, 40), (100, 62, 30, 40)])
    strip = row_strip(ink, ink > 0, row_height=40.0)
    assert strip.pixels.shape == (STRIP_HEIGHT, STRIP_WIDTH)
    assert strip.scale == pytest.approx(DIGIT_HEIGHT / 40.0)
    rows = np.flatnonzero(strip.pixels.any(axis=1))
    assert 20 <= rows[-1] - rows[0] + 1 <= 22  # 42 rows of ink at half size
    cols = np.flatnonzero(strip.pixels.any(axis=0))
    assert cols[0] == MARGIN
    # Strip columns map back to the ink map's: the second block starts at column 100.
    second = cols[cols > MARGIN + 20][0]
    assert strip.to_ink_x(second) == pytest.approx(100, abs=2.5)


def test_a_long_row_is_shrunk_to_fit_the_strip_and_only_kept_ink_counts() -> None:
    ink = blocks((100, 2000), [(10, 30, 1900, 40), (1950, 0, 20, 5)])
    keep = np.zeros_like(ink, dtype=bool)
    keep[30:70, 10:1910] = True  # the speck at the top right is not the row's
    strip = row_strip(ink, keep, row_height=40.0)
    cols = np.flatnonzero(strip.pixels.any(axis=0))
    assert cols[0] == MARGIN and cols[-1] <= STRIP_WIDTH - MARGIN
    assert strip.scale == pytest.approx((STRIP_WIDTH - 2 * MARGIN) / 1900)
    assert strip.pixels.max() <= 1.0


# --- the best reading --------------------------------------------------------------------


def test_the_band_holds_the_small_marks_beside_the_pieces_and_nothing_far_above_or_beside() -> None:
    # Two digits 40 tall, a point between them on the baseline, a minus before them, a speck
    # far above and a mark far to the right: the band holds the first four, not the last two.
    boxes = [(100, 60, 24, 40), (140, 60, 24, 40)]
    ink = blocks((300, 600), [*boxes, (130, 94, 4, 4), (70, 78, 16, 4), (120, 5, 4, 4), (400, 60, 20, 40)])
    band = row_band(ink, [Box(*box) for box in boxes], 40.0)
    assert band[60:100, 100:164].sum() == (ink[60:100, 100:164] > 0).sum()
    assert band[94:98, 130:134].all() and band[78:82, 70:86].all()
    assert not band[5:9, 120:124].any() and not band[:, 400:].any()


def test_the_best_reading_merges_repeats_and_keeps_digits_parted_by_blanks() -> None:
    b = BLANK
    strip = Strip(np.zeros((32, 224), np.float32), scale=0.5, left=100.0)
    read = best_reading(probs_for([b, 3, 3, b, 3, b, b, 7, b, 1, 1, 1]), strip)
    assert [e.digit for e in read] == [3, 3, 7, 1]
    # The first 3 spans steps 1-2: strip columns 4-12, its middle 8 -> ink column 100 + 4 / 0.5.
    assert read[0].x == pytest.approx(108.0)
    assert [e.x for e in read] == sorted(e.x for e in read)
    assert all(e.probability == pytest.approx(0.99) for e in read)


def test_the_best_reading_reads_signs_as_symbols_of_their_own() -> None:
    b, minus, point = BLANK, SYMBOLS.index("-"), SYMBOLS.index(".")
    strip = Strip(np.zeros((32, 224), np.float32), scale=1.0, left=0.0)
    read = best_reading(probs_for([b, minus, b, 1, b, 2, point, 5, b]), strip)
    assert "".join(e.symbol for e in read) == "-12.5"
    assert [e.is_digit for e in read] == [False, True, True, False, True]
    assert [e.digit for e in read if e.is_digit] == [1, 2, 5]


def test_a_reader_of_digits_alone_is_still_read() -> None:
    """A reader trained before signs has 11 outputs, the blank last."""
    probs = np.full((STEPS, 11), 0.01, np.float32)
    probs[np.arange(STEPS), [10, 4, 10, 2] + [10] * (STEPS - 4)] = 0.99
    strip = Strip(np.zeros((32, 224), np.float32), scale=1.0, left=0.0)
    assert [e.symbol for e in best_reading(probs, strip)] == ["4", "2"]


# --- the model file ----------------------------------------------------------------------


def test_the_committed_row_reader_has_its_signature_and_reads_rows(mnist_sample) -> None:
    reader = load_row_reader(REPO_MODELS / MODEL_FILE)
    assert reader is not None, "models/row_reader.tflite is missing: run python -m training.fitting.train_row_reader"
    rows = list(make_rows(mnist_sample.images, mnist_sample.labels, 24, ("spaced", "close", "photo"), seed=3))
    strips = []
    for made in rows:
        mapped = row_ink_map(decode_upload(made.data, max_pixels=MAX_PIXELS), 400)
        groups = row_groups(mapped.ink)
        band = row_band(mapped.ink, [g.box for g in groups], row_height(groups))
        strips.append(row_strip(mapped.ink, band, row_height(groups)))
    probs = reader.read(np.stack([s.pixels for s in strips]))
    assert probs.shape == (24, STEPS, len(SYMBOLS) + 1)  # digits and signs, and the blank
    assert np.allclose(probs.sum(axis=2), 1.0, atol=1e-4)
    read = ["".join(e.symbol for e in best_reading(p, s)) for p, s in zip(probs, strips, strict=True)]
    # Test-set digits, spaced or close: the reader alone gets nearly every whole number.
    assert sum(r == made.number for r, made in zip(read, rows, strict=True)) >= 20, read


def test_without_its_file_there_is_no_row_reader(tmp_path) -> None:
    assert load_row_reader(tmp_path / MODEL_FILE) is None


def test_the_row_reader_can_be_switched_off() -> None:
    assert Settings.from_env({"ROW_READER": "off"}).row_reader is False
    assert Settings.from_env({"ROW_READER": "on"}).row_reader is True
    with pytest.raises(ValueError, match="ROW_READER"):
        Settings.from_env({"ROW_READER": "maybe"})


# --- how the segmenter uses it ----------------------------------------------------------


def test_a_piece_is_cut_into_exactly_as_many_parts_as_asked(mnist_sample) -> None:
    layout = overlapping_until_one_piece(mnist_sample, [2, 7])
    mapped = row_ink_map(decode_upload(on_paper(layout.alpha), max_pixels=MAX_PIXELS), 400)
    (group,) = row_groups(mapped.ink)
    height = row_height([group])
    options = cut_options(group, mapped.ink, height, 0.6 * height, run_model, NETWORKS.probe, stroke_px(group.mask))
    for count in (1, 2, 3):
        parts = choose_exactly(options, count)
        assert parts is not None and len(parts) == count
        assert sum(part.area for part in parts) <= group.area
    assert choose_exactly(options, 40) is None  # more digits than the piece has parts for
    assert len(choose_parts(options)) == 2  # free choice: the probe's


def test_digits_read_are_counted_in_the_piece_that_holds_them() -> None:
    ink = blocks((100, 400), [(40, 30, 30, 40), (120, 30, 70, 40)])
    groups = row_groups(ink)
    assert len(groups) == 2
    b = BLANK
    # Strip scale 0.5 from ink column 40: the 4 reads over the first block (ink column 48), the
    # 5 and the 6 over the second (136 and 180).
    reader = FakeReader([b, 4, 4, b, b, b, b, b, b, b, b, b, 5, 5, b, b, b, b, 6, b])
    read = digits_per_piece(read_whole_row(ink, groups, 40.0, reader), groups)
    assert [[e.digit for e in piece.digits] for piece in read] == [[4], [5, 6]]
    assert [round(e.x) for piece in read for e in piece.digits] == [48, 136, 180]
    assert reader.strips[0].shape == (1, STRIP_HEIGHT, STRIP_WIDTH)


def digits_found(data: bytes, reader) -> int:
    return len(find_digits(decode_upload(data, max_pixels=MAX_PIXELS), RowModels(run_model, NETWORKS.probe, reader)))


def test_the_reader_decides_how_many_digits_touching_ink_holds(mnist_sample) -> None:
    pair = on_paper(touching_pair(mnist_sample, [0, 8], 0).alpha)
    assert digits_found(pair, None) == 2  # the segmenter alone cuts the pair
    b = BLANK
    assert digits_found(pair, FakeReader([b, b, 0, b])) == 1  # the reader sees one digit: left whole
    assert digits_found(pair, FakeReader([b, b, 0, b, b, 8, b, b, 2, b])) == 3  # three: cut in three
    # A reader that reads nothing there, or is unsure, leaves the choice to the segmenter.
    assert digits_found(pair, FakeReader([b] * 5)) == 2
    assert digits_found(pair, FakeReader([b, b, 0, b], peak=FUSION.count_sure - 0.1)) == 2
    # Fairly sure is sure enough for a piece as tall as the row's digits.
    assert digits_found(pair, FakeReader([b, b, 0, b], peak=FUSION.count_sure + 0.1)) == 1


def test_a_narrow_piece_is_never_cut_whatever_the_reader_says(mnist_sample) -> None:
    spaced = on_paper(row(mnist_sample, [1, 7], gaps=[0.5]).alpha)
    b = BLANK
    assert digits_found(spaced, FakeReader([b, 1, b, 1, b, 1, b, 7, b, 7, b, 7])) == 2


def test_a_digit_read_by_both_gets_both_readings_combined() -> None:
    network = np.zeros(10)
    network[[3, 5]] = 0.6, 0.4
    assert np.array_equal(with_row_reading(network.tolist(), None), network)
    reader = np.full(10, 0.01)
    reader[[3, 5]] = 0.1, 0.82
    both = with_row_reading(network.tolist(), reader)
    assert both.argmax() == 5 and both.sum() == pytest.approx(1.0)
    w = FUSION.weight  # the reader's reading counts this much: its probabilities to this power
    assert both[3] == pytest.approx(0.6 * 0.1**w / (0.6 * 0.1**w + 0.4 * 0.82**w))


def emission(digit: int, x: float, probability: float = 0.99) -> Emission:
    return Emission(str(digit), x, probability, np.eye(10)[digit])


def test_a_piece_the_reader_reads_nothing_in_joins_its_nearest_neighbour() -> None:
    ink = blocks((100, 400), [(40, 30, 30, 40), (72, 30, 8, 25), (120, 30, 30, 40), (300, 30, 8, 40)])
    groups = sorted(components_as_groups(ink), key=lambda g: g.box[0])
    assert [g.box[0] for g in groups] == [40, 72, 120, 300]
    sure = [
        PieceReading([emission(4, 55)], False),
        PieceReading([], True),  # a bit of the 4 that came apart: joins it
        PieceReading([emission(7, 135)], False),
        PieceReading([], True),  # far from any digit: left as it is
    ]
    folded, read = fold_unread(groups, sure, 40.0)
    assert [g.box for g in folded] == [(40, 30, 40, 40), (120, 30, 30, 40), (300, 30, 8, 40)]
    assert folded[0].area == groups[0].area + groups[1].area
    assert [r.digits for r in read] == [sure[0].digits, sure[2].digits, []]


def test_a_mark_as_large_as_a_digit_the_reader_reads_nothing_in_stays_apart_to_be_judged_whole() -> None:
    ink = blocks((100, 400), [(40, 30, 30, 40), (80, 30, 30, 40), (160, 30, 30, 40)])
    groups = sorted(components_as_groups(ink), key=lambda g: g.box[0])
    read = [PieceReading([emission(4, 55)], False), PieceReading([], True), PieceReading([emission(7, 175)], False)]
    folded, kept = fold_unread(groups, read, 40.0)
    assert [g.box for g in folded] == [g.box for g in groups]  # 10 px from the 4, yet no stroke of it
    assert [r.no_digit for r in kept] == [False, True, False]


def test_a_mark_the_reader_reads_nothing_in_is_judged_whole_not_cut(mnist_sample) -> None:
    """A "#" after "1 7", as wide as two digits: the reader reads the 1 and the 7 and nothing
    over it, so it stays one piece (the digit network then judges it), not two "digits"."""
    digits = row(mnist_sample, [1, 7], gaps=[0.5]).alpha
    height = digits.shape[0]
    hash_mark = mark_alpha("hash", size=int(height * 0.8))
    wide = np.zeros((height, 2 * hash_mark.shape[1]), np.float32)
    top = (height - hash_mark.shape[0]) // 2
    wide[top : top + hash_mark.shape[0]] = np.repeat(hash_mark, 2, axis=1)
    ink = np.hstack([digits, np.zeros((height, 20), np.float32), wide])
    groups = row_groups(ink)
    assert len(groups) == 3
    row_tall = row_height(groups)
    strip = row_strip(ink, row_band(ink, [g.box for g in groups], row_tall), row_tall)
    steps = [round((MARGIN + (g.box.centre_x - strip.left) * strip.scale) / (STRIP_WIDTH / STEPS)) for g in groups]
    symbols = [BLANK] * STEPS
    symbols[steps[0]], symbols[steps[1]] = 1, 7
    found = segment_ink(ink, RowModels(run_model, NETWORKS.probe, FakeReader(symbols))).groups
    assert len(found) == 3 and found[2].box == groups[2].box
    assert [g.unread for g in found] == [False, False, True]  # a mark: the service leaves it out
    # Read as two digits there, the same mark is cut in two: the reader's reading decides.
    symbols[steps[2] - 1], symbols[steps[2] + 1] = 4, 4
    assert len(segment_ink(ink, RowModels(run_model, NETWORKS.probe, FakeReader(symbols))).groups) == 4


def reading_over(ink: np.ndarray, columns: dict[float, int]) -> FakeReader:
    """A reader that reads each given digit over the given ink column of the row."""
    groups = row_groups(ink)
    height = row_height(groups)
    strip = row_strip(ink, row_band(ink, [g.box for g in groups], height), height)
    symbols = [BLANK] * STEPS
    for column, digit in columns.items():
        symbols[round((MARGIN + (column - strip.left) * strip.scale) / (STRIP_WIDTH / STEPS))] = digit
    assert sum(s != BLANK for s in symbols) == len(columns)
    return FakeReader(symbols)


def test_a_narrow_piece_the_reader_surely_reads_as_two_digits_is_cut_where_it_read_them(mnist_sample) -> None:
    """Two "1"s written into each other are too narrow a piece for the segmenter to cut; the
    reader reads two digits there, so it is cut between them, and each part gets its reading."""
    ink = touching_pair(mnist_sample, [1, 1], 0).alpha
    (piece,) = row_groups(ink)
    height = row_height([piece])
    assert not may_hold_several(piece, height)
    models = RowModels(run_model, NETWORKS.probe, None)
    assert len(segment_ink(ink, models).groups) == 1  # the segmenter alone leaves it whole
    reader = reading_over(ink, {piece.box.x: 1, piece.box.right: 1})  # two steps apart: read as two
    parts = segment_ink(ink, dataclasses.replace(models, reader=reader)).groups
    assert len(parts) == 2 and parts[0].box.x < parts[1].box.x
    assert all(part.read_as is not None and part.read_as.argmax() == 1 for part in parts)
    assert parts[0].area + parts[1].area == pytest.approx(piece.area, rel=0.05)


def test_the_reader_is_only_sure_a_piece_holds_no_digit_when_sure_of_the_whole_row() -> None:
    ink = blocks((100, 400), [(40, 30, 30, 40), (120, 30, 30, 40)])
    groups = row_groups(ink)
    b = BLANK
    symbols = [b, 4, 4] + [b] * 20
    sure = digits_per_piece(read_whole_row(ink, groups, 40.0, FakeReader(symbols)), groups)
    assert [r.no_digit for r in sure] == [False, True]
    unsure = digits_per_piece(read_whole_row(ink, groups, 40.0, FakeReader(symbols, peak=0.6)), groups)
    assert [r.no_digit for r in unsure] == [False, False]


def test_wide_digits_told_apart_by_the_reader_are_cut_into_as_many(mnist_sample) -> None:
    """Two touching "0"s drawn wide (each wider than MAX_PART of the row's height) are still
    cut in two when the reader reads two digits there."""
    from PIL import Image

    height = 60

    def wide(image: np.ndarray) -> np.ndarray:
        rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
        ink = Image.fromarray(image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1])
        return np.asarray(ink.resize((int(1.4 * height), height), Image.Resampling.BILINEAR)) / 255.0

    glyphs = [wide(mnist_sample.image_of(0, 0)), wide(mnist_sample.image_of(0, 1))]
    from training.data.rows import layout_digits

    layout = layout_digits([g.astype(np.float32) for g in glyphs], height, [0.05], [True], np.random.default_rng(0))
    b = BLANK
    image = decode_upload(on_paper(layout.alpha), max_pixels=MAX_PIXELS)
    found = find_digits(image, RowModels(run_model, NETWORKS.probe, FakeReader([b, b, 0, b, b, b, b, b, 0, b])))
    assert len(found) == 2
    assert found[0].box[0] + found[0].box[2] <= found[1].box[0] + 0.4 * found[1].box[2]


def test_a_part_too_faint_to_crop_reads_as_nothing_not_as_no_digit_in_the_row() -> None:
    from recognizer.vision.rows.cuts import normalize_part

    faint = np.full((30, 12), 0.01, np.float32)  # a sliver of a piece's soft edge
    assert not normalize_part(faint, 2.0).any()
