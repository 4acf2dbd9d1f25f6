"""POST /api/predict/multi: a row of digits in, the number and each digit's box out."""

from __future__ import annotations

import io
import re

import httpx
import numpy as np
import pytest
from PIL import Image

from recognizer.schemas import percent
from training.data.realistic import mnist_glyph
from training.data.rows import box_iou, layout_digits, make_rows

HEX_ID = re.compile(r"^[0-9a-f]{32}$")
DIGIT_FIELDS = {"predicted_digit", "confidence", "probabilities", "is_digit", "digit_probability", "box"}


def row_png(mnist_sample, digits: list[int], seed: int = 0) -> tuple[bytes, tuple]:
    rng = np.random.default_rng(seed)
    glyphs = [mnist_glyph(mnist_sample.image_of(d, 3), d).render(70, rng) for d in digits]
    layout = layout_digits(glyphs, 70, [0.45] * (len(digits) - 1), [False] * (len(digits) - 1), rng)
    pixels = np.clip(240 - 220 * layout.alpha, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG")
    return buffer.getvalue(), layout.boxes


def post_row(client, data: bytes, **params) -> httpx.Response:
    return client.post("/api/predict/multi", files={"image": ("row.png", data, "image/png")}, params=params)


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"}
    assert response.json()["error"]["code"] == code and response.json()["error"]["message"]


def test_a_row_answers_the_number_and_each_digit_with_its_box(app_client, mnist_sample, moto_s3) -> None:
    data, truth = row_png(mnist_sample, [4, 0, 7, 2])
    response = post_row(app_client, data)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"number", "digits", "marks", "warnings"}
    assert body["marks"] == []
    assert len(body["digits"]) == 4
    assert body["number"] == "".join(str(d["predicted_digit"]) for d in body["digits"])
    for digit, box in zip(body["digits"], truth, strict=True):
        assert set(digit) == DIGIT_FIELDS  # fast by default: nothing stored, nothing linked
        assert sum(digit["probabilities"]) == pytest.approx(1.0, abs=1e-9)
        assert digit["predicted_digit"] == int(np.argmax(digit["probabilities"]))
        assert digit["is_digit"] is True
        assert digit["confidence"] == percent(max(digit["probabilities"]) * digit["digit_probability"])
        x, y, w, h = digit["box"]
        assert abs(x + w / 2 - (box[0] + box[2] / 2)) < box[2] / 2  # the box is on its digit
        assert abs(y + h / 2 - (box[1] + box[3] / 2)) < box[3] / 2
    assert moto_s3.keys() == []


def test_the_digits_read_in_a_row_are_those_read_one_by_one(app_client, mnist_sample, digit_png) -> None:
    digits = [3, 8, 1, 6, 9]
    alone = [
        app_client.post("/api/predict", files={"image": ("d.png", digit_png(d, 3), "image/png")}).json()[
            "predicted_digit"
        ]
        for d in digits
    ]
    data, _ = row_png(mnist_sample, digits)
    read = post_row(app_client, data).json()["number"]
    assert len(read) == len(digits)
    assert sum(a == b for a, b in zip(read, "".join(map(str, alone)), strict=True)) >= len(digits) - 1


def test_a_raw_body_works_as_well(app_client, mnist_sample) -> None:
    data, _ = row_png(mnist_sample, [5, 1])
    raw = app_client.post("/api/predict/multi", content=data, headers={"content-type": "image/png"})
    assert raw.status_code == 200, raw.text
    assert raw.json()["number"] == post_row(app_client, data).json()["number"]


def test_feature_maps_are_stored_and_linked_only_when_asked(app_client, mnist_sample, moto_s3) -> None:
    data, _ = row_png(mnist_sample, [2, 5, 8])
    body = post_row(app_client, data, feature_maps="true").json()
    assert len(body["digits"]) == 3
    ids = [digit["prediction_id"] for digit in body["digits"]]
    assert all(HEX_ID.match(i) for i in ids) and len(set(ids)) == 3
    for digit in body["digits"]:
        prefix = f"predictions/{digit['prediction_id']}/"
        assert prefix + "input.png" in digit["input_url"]
        assert prefix + "conv2.png" in digit["feature_maps"]["conv2"]["url"]
        assert moto_s3.keys(prefix) == [prefix + n for n in ("conv1.png", "conv2.png", "input.png")]


def test_a_blank_image_is_no_digit_found(app_client) -> None:
    buffer = io.BytesIO()
    Image.new("L", (300, 100), 250).save(buffer, format="PNG")
    assert_error(post_row(app_client, buffer.getvalue()), 422, "no_digit_found")


def test_bad_uploads_get_the_error_shape(app_client) -> None:
    assert_error(post_row(app_client, b"just some text"), 415, "unsupported_media_type")
    assert_error(post_row(app_client, b"\x89PNG\r\n\x1a\n" + b"\x00" * 40), 422, "invalid_image")
    empty = app_client.post("/api/predict/multi", content=b"", headers={"content-type": "image/png"})
    assert_error(empty, 422, "missing_image")
    wrong_field = app_client.post("/api/predict/multi", files={"file": ("x.png", b"abc", "image/png")})
    assert_error(wrong_field, 422, "missing_image")


def test_the_route_is_documented(app_client) -> None:
    spec = app_client.get("/api/openapi.json").json()
    operation = spec["paths"]["/api/predict/multi"]["post"]
    assert "multipart/form-data" in operation["requestBody"]["content"]
    assert {p["name"] for p in operation["parameters"]} == {"feature_maps", "explain"}


def test_a_number_is_read_with_its_minus_and_its_decimal_point(app_client, mnist_sample) -> None:
    """Rows of test-set digits with a leading minus, a decimal point or comma written in
    (``training.data.rows``' signed kind): the number comes with its signs, each sign in
    ``marks`` with its box on the sign's ink, and ``digits`` holds the digits alone."""
    rows = list(make_rows(mnist_sample.images, mnist_sample.labels, 16, ("signed",), seed=11))
    exact = 0
    for made in rows:
        response = post_row(app_client, made.data)
        assert response.status_code == 200, response.text
        body = response.json()
        signs = [mark["symbol"] for mark in body["marks"]]
        assert signs == [c for c in body["number"] if not c.isdigit()]
        assert [c for c in body["number"] if c.isdigit()] == [
            str(d["predicted_digit"]) for d in body["digits"] if d["is_digit"]
        ]
        if body["number"] == made.number:
            exact += 1
            for mark, (symbol, box) in zip(body["marks"], made.marks, strict=True):
                assert mark["symbol"] == symbol and box_iou(mark["box"], box) > 0.2, (mark, box)
    assert exact >= 13, exact


def test_a_small_signed_number_on_a_large_page_keeps_its_minus(app_client, mnist_sample) -> None:
    """A number small in a large photo is re-read from the upload's own pixels; that second look
    must take in its signs, not only its digits (a minus lies before the first digit: without
    them in its region, 1 of these 6 kept its minus)."""
    rows = make_rows(mnist_sample.images, mnist_sample.labels, 40, ("signed",), seed=11)
    signed = [made for made in rows if made.number.startswith("-")][:6]
    kept = 0
    for made in signed:
        row = Image.open(io.BytesIO(made.data)).convert("L")
        tallest = max(box[3] for box in made.boxes)
        small = np.asarray(row.resize((row.width * 36 // tallest, row.height * 36 // tallest)))
        rows_around, columns_around = small.shape[0], small.shape[1]
        page = np.pad(small, ((2 * rows_around, rows_around), (columns_around, 2 * columns_around)), mode="edge")
        buffer = io.BytesIO()
        Image.fromarray(page).save(buffer, format="PNG")
        body = post_row(app_client, buffer.getvalue()).json()
        kept += body["number"].startswith("-") and body["marks"][0]["symbol"] == "-"
    assert len(signed) == 6 and kept >= 4, kept
