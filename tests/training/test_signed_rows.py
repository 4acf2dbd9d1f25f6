"""Rows with signs written in (issue #25): where the signs are drawn, what the number says, and
that rows without signs are the rows they always were."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from training.data import rows as row_kinds
from training.data.signs import add_dirt, point, sign_glyph


def signed_rows(mnist_sample, count: int, kind: str = "signed") -> list[row_kinds.Row]:
    return list(row_kinds.make_rows(mnist_sample.images, mnist_sample.labels, count, (kind,), seed=4, signs=1.0))


def darkness(data: bytes, box) -> float:
    """How much darker than the paper the box is, on average (0..255)."""
    grey = np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.float32)
    x, y, w, h = box
    return float(np.median(grey) - grey[y : y + h, x : x + w].mean())


def test_signed_numbers_have_a_leading_minus_or_a_point_between_digits(mnist_sample) -> None:
    made = signed_rows(mnist_sample, 40)
    for row in made:
        assert row.number.strip("-").replace(".", "").replace(",", "").isdigit(), row.number
        assert row.number.count("-") <= 1 and not row.number.endswith((".", ","))
        assert "-" not in row.number[1:]
        assert len(row.boxes) == sum(c.isdigit() for c in row.number)
        assert [symbol for symbol, _ in row.marks] == [c for c in row.number if not c.isdigit()]
    numbers = [row.number for row in made]
    assert any(n.startswith("-") for n in numbers) and any("." in n for n in numbers) and any("," in n for n in numbers)


def test_each_sign_is_drawn_where_a_writer_puts_it(mnist_sample) -> None:
    for row in signed_rows(mnist_sample, 30):
        tops = [y for _, y, _, _ in row.boxes]
        bottoms = [y + h for _, y, _, h in row.boxes]
        height = float(np.median([h for *_, h in row.boxes]))
        for symbol, (x, y, w, h) in row.marks:
            assert darkness(row.data, (x, y, w, h)) > 20, (row.number, symbol)  # ink is there
            assert h < 0.6 * height
            middle = y + h / 2
            if symbol == "-":
                assert w > h and min(tops) < middle < max(bottoms)
            else:  # on the baseline: its top in the lower half of the digits
                assert y > float(np.median(tops)) + 0.4 * height, (row.number, symbol)


def test_signs_and_dirt_are_drawn_apart_from_the_kinds_rows(mnist_sample) -> None:
    """A row that gets neither signs nor dirt is the row it always was."""
    kinds = ("spaced", "touching", "angled")
    plain = list(row_kinds.make_rows(mnist_sample.images, mnist_sample.labels, 16, kinds, seed=2))
    mixed = list(row_kinds.make_rows(mnist_sample.images, mnist_sample.labels, 16, kinds, seed=2, signs=0.4, dirt=0.4))
    extras = [np.random.default_rng([2, len(row_kinds.KINDS), i]).random(2) for i in range(16)]
    untouched = [i for i, e in enumerate(extras) if e.min() >= 0.4]
    signed = [i for i, e in enumerate(extras) if e[0] < 0.4]
    assert untouched and signed
    assert all(plain[i].data == mixed[i].data and plain[i].number == mixed[i].number for i in untouched)
    assert all(not mixed[i].number.isdigit() for i in signed)


def test_sign_glyphs_are_as_tall_as_the_row_and_the_comma_has_a_tail() -> None:
    rng = np.random.default_rng(0)
    minus = sign_glyph("-", 60, 6.0, rng)
    assert minus.shape[0] == 60 and minus.shape[1] > 18
    rows = np.flatnonzero(minus.max(axis=1) > 0.5)
    assert 18 < rows.mean() < 42  # mid-height
    dot = point(60, 6.0, rng)
    comma = point(60, 6.0, np.random.default_rng(0), comma=True)
    dot_rows, comma_rows = np.flatnonzero(dot.max(axis=1) > 0.5), np.flatnonzero(comma.max(axis=1) > 0.5)
    assert dot_rows.min() > 45  # on the baseline
    assert len(comma_rows) > 1.5 * len(dot_rows)  # the tail


def test_dirt_never_lands_on_the_baseline_between_two_digits() -> None:
    boxes = ((20, 40, 30, 60), (70, 40, 30, 60))
    for seed in range(30):
        alpha = add_dirt(np.zeros((140, 160), np.float32), boxes, 5.0, np.random.default_rng(seed))
        assert not alpha[70:100, 50:70].any()


def ink_outside_digits(row: row_kinds.Row) -> int:
    """Pixels of ink in the row's image outside every digit's box."""
    grey = np.asarray(Image.open(io.BytesIO(row.data)).convert("L"), dtype=np.float32)
    ink = grey < np.median(grey) - 60
    for x, y, w, h in row.boxes:
        ink[y : y + h, x : x + w] = False
    return int(ink.sum())


def test_a_marked_row_holds_one_mark_that_is_no_digit_and_its_number_is_the_digits(mnist_sample) -> None:
    made = list(row_kinds.make_rows(mnist_sample.images, mnist_sample.labels, 12, ("marked",), seed=6))
    for row in made:
        assert row.number.isdigit() and len(row.boxes) == len(row.number) and row.marks == ()
        assert ink_outside_digits(row) > 20  # the mark


def test_rows_with_a_training_stray_mark_keep_the_digits_as_their_number(mnist_sample) -> None:
    kinds = ("spaced", "touching", "photo")
    plain = list(row_kinds.make_rows(mnist_sample.images, mnist_sample.labels, 12, kinds, seed=6))
    strayed = list(row_kinds.make_rows(mnist_sample.images, mnist_sample.labels, 12, kinds, seed=6, strays=1.0))
    for before, after in zip(plain, strayed, strict=True):
        assert after.number == before.number and len(after.boxes) == len(before.number)
        assert ink_outside_digits(after) > 20  # the mark


def test_training_stray_marks_come_from_the_training_sources_only(monkeypatch) -> None:
    from training.data import realistic

    def evaluation_fonts() -> list:
        raise AssertionError("the evaluation's handwriting fonts are for the marked kind only")

    monkeypatch.setattr(realistic, "handwriting_fonts", evaluation_fonts)
    rng = np.random.default_rng(2)
    marks = [row_kinds.training_stray_mark(50, rng) for _ in range(30)]
    assert all(0 < max(m.shape) <= 50 and m.max() > 0.5 for m in marks)
    assert not set(row_kinds.TRAINING_STRAY_CHARACTERS) & set("-_~.,0123456789")


def test_some_training_letters_are_written_in_a_hand_style(monkeypatch) -> None:
    styled: list[np.ndarray] = []
    real = row_kinds._in_a_hand_style

    def watched(ink: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        styled.append(out := real(ink, rng))
        return out

    monkeypatch.setattr(row_kinds, "_in_a_hand_style", watched)
    rng = np.random.default_rng(4)
    marks = [row_kinds.training_stray_mark(50, rng) for _ in range(40)]
    assert 3 <= len(styled) < len(marks)  # about a quarter: half the letters, none of the drawings
    assert all(mark.max() > 0.5 for mark in styled)


def test_strips_are_made_of_the_kinds_asked_for(mnist_sample, monkeypatch) -> None:
    from training.data import row_strips

    asked: list[str] = []
    real = row_kinds.make_row

    def watched(kind: str, *args, **kwargs):
        asked.append(kind)
        return real(kind, *args, **kwargs)

    monkeypatch.setattr(row_strips, "make_rows", row_kinds.make_rows)
    monkeypatch.setattr(row_kinds, "make_row", watched)
    made = row_strips.strip_set(
        mnist_sample.images, mnist_sample.labels, 6, seed=1, workers=1, kinds=("overlapping", "touching")
    )
    assert asked == ["overlapping", "touching"] * 3
    assert made.strips.shape[1:] == (32, 224) and len(made.numbers) == made.strips.shape[0] >= 5
    assert all(number.replace("-", "").replace(".", "").replace(",", "").isdigit() for number in made.numbers)
