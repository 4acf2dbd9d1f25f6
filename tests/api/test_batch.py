"""POST /api/predict/batch: several files, each answered in order, errors per file."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from tests.not_digits import mark_png


def batch(client, files: list[tuple[str, bytes]], field: str = "images") -> httpx.Response:
    return client.post(
        "/api/predict/batch", files=[(field, (name, data, "application/octet-stream")) for name, data in files]
    )


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"}
    assert response.json()["error"]["code"] == code and response.json()["error"]["message"]


@pytest.fixture
def limits(serve_with):
    """``limits(MAX_BATCH_FILES=3)``: the app answers with these limits (named as the
    environment variables a deployment sets)."""

    def set_limits(**values: int) -> None:
        serve_with(**{name.lower(): value for name, value in values.items()})

    return set_limits


def test_each_result_says_whether_it_is_a_digit(app_client, digit_png, moto_s3) -> None:
    files = [("five.png", digit_png(5)), ("spiral.png", mark_png("spiral")), ("one.png", digit_png(1))]
    results = batch(app_client, files).json()["results"]
    assert [(r["filename"], r["is_digit"]) for r in results] == [
        ("five.png", True),
        ("spiral.png", False),
        ("one.png", True),
    ]
    assert results[1]["warnings"][0].startswith("this does not look like a digit (closest: ")


def test_results_come_in_the_order_sent(app_client, digit_png, moto_s3) -> None:
    digits = [7, 2, 9, 0, 4, 4]
    files = [(f"{i}-{d}.png", digit_png(d, i)) for i, d in enumerate(digits)]
    response = batch(app_client, files)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["filename"] for r in results] == [name for name, _ in files]
    for (name, data), result in zip(files, results, strict=True):
        single = app_client.post("/api/predict", files={"image": (name, data, "image/png")}).json()
        assert result["predicted_digit"] == single["predicted_digit"]
        assert result["probabilities"] == pytest.approx(single["probabilities"])
        prefix = f"predictions/{result['prediction_id']}/"
        assert moto_s3.keys(prefix) == [prefix + n for n in ("conv1.png", "conv2.png", "input.png")]
    assert len({r["prediction_id"] for r in results}) == len(digits)


def test_a_bad_file_fails_alone(app_client, digit_png, limits) -> None:
    limit = max(len(digit_png(3)), len(digit_png(8))) + 10
    limits(MAX_UPLOAD_BYTES=limit)
    buffer = io.BytesIO()
    Image.new("L", (64, 64), 255).save(buffer, format="PNG")
    big = digit_png(6, scale=12)
    files = [
        ("three.png", digit_png(3)),
        ("notes.txt", b"not an image at all"),
        ("broken.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32),
        ("blank.png", buffer.getvalue()),
        ("empty.png", b""),
        ("big.png", big),
        ("eight.png", digit_png(8)),
    ]
    assert len(big) > limit
    response = batch(app_client, files)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["filename"] for r in results] == [name for name, _ in files]
    codes = [r["error"]["code"] if "error" in r else None for r in results]
    assert codes == [
        None,
        "unsupported_media_type",
        "invalid_image",
        "no_digit_found",
        "missing_image",
        "file_too_large",
        None,
    ]
    for result in results:
        if "error" in result:
            assert set(result) == {"filename", "error"} and result["error"]["message"]
        else:
            assert len(result["probabilities"]) == 10 and result["is_digit"] is True


def test_too_many_files_is_413(app_client, digit_png, limits) -> None:
    limits(MAX_BATCH_FILES=3)
    data = digit_png(1)
    assert batch(app_client, [(f"{i}.png", data) for i in range(3)]).status_code == 200
    assert_error(batch(app_client, [(f"{i}.png", data) for i in range(4)]), 413, "too_many_files")


def test_the_default_limit_is_32_files(app_client, settings) -> None:
    assert settings.max_batch_files == 32
    tiny = [(f"{i}.png", b"x") for i in range(33)]
    assert_error(batch(app_client, tiny), 413, "too_many_files")


def test_upload_ids_are_limited_by_what_the_function_reads_in_time(app_client, limits) -> None:
    """Files sent to S3 may each be a 12-megapixel photo: a batch names at most
    MAX_BATCH_UPLOAD_IDS of them (sized for the timeout: tests/infra/test_template.py), even
    where MAX_BATCH_FILES allows more small files."""
    limits(MAX_BATCH_FILES=32, MAX_BATCH_UPLOAD_IDS=2)
    ids = [f"{i:032x}" for i in range(3)]
    refused = app_client.post("/api/predict/batch", json={"upload_ids": ids})
    assert_error(refused, 413, "too_many_files")
    assert "at most 2 upload_ids" in refused.json()["error"]["message"]
    answered = app_client.post("/api/predict/batch", json={"upload_ids": ids[:2]})
    assert answered.status_code == 200, answered.text
    assert [r["error"]["code"] for r in answered.json()["results"]] == ["upload_not_found"] * 2


def test_the_upload_id_limit_is_in_the_openapi_document(app_client, settings) -> None:
    schema = app_client.get("/api/openapi.json").json()
    assert schema["info"]["x-upload"]["max_batch_upload_ids"] == settings.max_batch_upload_ids
    description = schema["paths"]["/api/predict/batch"]["post"]["description"]
    assert f"up to {settings.max_batch_upload_ids} files sent to S3" in description


def test_too_many_bytes_in_all_is_413(app_client, digit_png, limits) -> None:
    data = digit_png(2)
    limits(MAX_BATCH_BYTES=3 * len(data) + 5)
    assert batch(app_client, [(f"{i}.png", data) for i in range(3)]).status_code == 200
    assert_error(batch(app_client, [(f"{i}.png", data) for i in range(4)]), 413, "batch_too_large")
    huge = b"\x89PNG" + b"\x00" * (4 * len(data))  # one part over the whole limit: refused early
    assert_error(batch(app_client, [("huge.png", huge)]), 413, "batch_too_large")


def test_requests_without_images_fields_are_refused(app_client, digit_png) -> None:
    assert_error(batch(app_client, [("a.png", digit_png(1))], field="image"), 422, "missing_image")
    raw = app_client.post("/api/predict/batch", content=digit_png(1), headers={"content-type": "image/png"})
    assert_error(raw, 415, "unsupported_media_type")


def test_the_route_is_documented(app_client) -> None:
    spec = app_client.get("/api/openapi.json").json()
    body = spec["paths"]["/api/predict/batch"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert body["schema"]["properties"]["images"]["type"] == "array"
