"""The API through FastAPI's TestClient: answers, stored files and every error path."""

from __future__ import annotations

import dataclasses
import io
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from recognizer.api import create_app
from recognizer.schemas import percent
from recognizer.service import Recognizer
from tests.not_digits import mark_png

HEX_ID = re.compile(r"^[0-9a-f]{32}$")
PHOTOS = Path(__file__).resolve().parents[1] / "data" / "photos"


def upload(client: TestClient, data: bytes, field: str = "image", filename: str = "digit.png"):
    return client.post("/api/predict", files={field: (filename, data, "image/png")})


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


def png_of_size(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (width, height), 255).save(buffer, format="PNG")
    return buffer.getvalue()


# --- answers ------------------------------------------------------------------------------


def test_a_mark_that_is_not_a_digit_is_answered_with_the_closest_digit(app_client, moto_s3) -> None:
    response = upload(app_client, mark_png("hash"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["is_digit"] is False
    assert body["predicted_digit"] == int(np.argmax(body["probabilities"]))
    assert body["warnings"][0].startswith(f"this does not look like a digit (closest: {body['predicted_digit']}, ")
    assert body["refused_because"] == "not_a_digit"
    assert body["feature_maps"] is not None  # what the network saw is still shown


def test_a_photograph_is_answered_as_one(app_client, moto_s3) -> None:
    photo = (PHOTOS / "calla_art.jpg").read_bytes()
    response = app_client.post("/api/predict", files={"image": ("sea.jpg", photo, "image/jpeg")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["is_digit"] is False and body["refused_because"] == "photograph"
    assert body["warnings"][0].startswith("this looks like a photograph, not handwriting (closest digit: ")
    response = app_client.post("/api/predict/multi", files={"image": ("sea.jpg", photo, "image/jpeg")})
    if response.status_code == 422:  # no ink found at all: said in the same words
        assert "this looks like a photograph" in response.json()["error"]["message"]
    else:
        assert response.status_code == 200 and response.json()["refused_because"] == "photograph"
        assert response.json()["number"] == ""


def test_the_schema_documents_is_digit(app_client) -> None:
    schemas = app_client.get("/api/openapi.json").json()["components"]["schemas"]
    for name in ("PredictionResponse", "DigitInRow", "BatchPrediction"):
        assert {"is_digit", "digit_probability"} <= set(schemas[name]["required"]), name
        assert "not look like a digit" in schemas[name]["properties"]["is_digit"]["description"]


def test_predict_answers_the_documented_shape(app_client, digit_png, moto_s3) -> None:
    response = upload(app_client, digit_png(3))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "predicted_digit",
        "confidence",
        "probabilities",
        "is_digit",
        "digit_probability",
        "prediction_id",
        "input_url",
        "feature_maps",
        "refused_because",
        "warnings",
    }
    assert body["refused_because"] is None
    probabilities = body["probabilities"]
    assert len(probabilities) == 10 and all(0.0 <= p <= 1.0 for p in probabilities)
    assert sum(probabilities) == pytest.approx(1.0, abs=1e-9)
    assert body["predicted_digit"] == int(np.argmax(probabilities))
    assert body["is_digit"] is True and 0.99 < body["digit_probability"] <= 1.0
    # The digit's probability, times the probability that it is a digit at all; one decimal.
    assert body["confidence"] == percent(max(probabilities) * body["digit_probability"])
    assert HEX_ID.match(body["prediction_id"])
    assert body["feature_maps"]["conv1"]["rows"] == 4 and body["feature_maps"]["conv1"]["cols"] == 8
    assert body["feature_maps"]["conv2"]["rows"] == 8 and body["feature_maps"]["conv2"]["cols"] == 8
    prefix = f"predictions/{body['prediction_id']}/"
    assert prefix + "input.png" in body["input_url"]
    assert prefix + "conv1.png" in body["feature_maps"]["conv1"]["url"]
    assert body["warnings"] == []
    assert moto_s3.keys(prefix) == [prefix + name for name in ("conv1.png", "conv2.png", "input.png")]


def test_real_digits_are_read(app_client, digit_png) -> None:
    answers = [upload(app_client, digit_png(digit)).json()["predicted_digit"] for digit in range(10)]
    assert sum(answer == digit for digit, answer in enumerate(answers)) >= 9, answers


def test_a_raw_image_body_works_as_well_as_multipart(app_client, digit_png) -> None:
    data = digit_png(7)
    as_form = upload(app_client, data).json()
    for content_type in ("image/png", "application/octet-stream", None):
        headers = {"content-type": content_type} if content_type else {}
        raw = app_client.post("/api/predict", content=data, headers=headers)
        assert raw.status_code == 200, raw.text
        assert raw.json()["probabilities"] == pytest.approx(as_form["probabilities"])
        assert raw.json()["prediction_id"] != as_form["prediction_id"]


def test_each_prediction_stores_its_own_files(app_client, digit_png, moto_s3) -> None:
    first = upload(app_client, digit_png(1)).json()["prediction_id"]
    second = upload(app_client, digit_png(1)).json()["prediction_id"]
    assert first != second
    assert len(moto_s3.keys(f"predictions/{first}/")) == 3
    assert len(moto_s3.keys(f"predictions/{second}/")) == 3


def test_storage_failure_still_answers_with_a_warning(app_client, digit_png, serve_with, unreachable_store) -> None:
    serve_with(store=unreachable_store)
    response = upload(app_client, digit_png(4))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["feature_maps"] is None and body["input_url"] is None
    assert len(body["warnings"]) == 1 and "NoSuchBucket" in body["warnings"][0]
    assert 0 <= body["predicted_digit"] <= 9


def test_health_and_openapi(app_client) -> None:
    health = app_client.get("/api/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok" and health.json()["model_backend"] == "litert"
    schema = app_client.get("/api/openapi.json").json()
    assert {"/api/predict", "/api/health", "/api/predictions/{prediction_id}", "/api/reset"} <= set(schema["paths"])
    predict = schema["paths"]["/api/predict"]["post"]
    assert "multipart/form-data" in predict["requestBody"]["content"]
    assert {"413", "415", "422"} <= set(predict["responses"])
    docs = app_client.get("/api/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


# --- client errors ------------------------------------------------------------------------


def test_too_large_by_content_length(app_client, settings) -> None:
    limit = settings.max_upload_bytes
    response = app_client.post(
        "/api/predict", content=b"\x89PNG" + b"\0" * limit, headers={"content-type": "image/png"}
    )
    assert_error(response, 413, "file_too_large")


def test_too_large_without_content_length(app_client, settings) -> None:
    limit = settings.max_upload_bytes

    def chunks():
        for _ in range(limit // 65536 + 2):
            yield b"\0" * 65536

    response = app_client.post("/api/predict", content=chunks(), headers={"content-type": "image/png"})
    assert_error(response, 413, "file_too_large")


def test_too_large_inside_multipart(app_client, serve_with) -> None:
    serve_with(max_upload_bytes=50_000)
    data = png_of_size(10, 10) + b"\0" * 60000
    assert_error(upload(app_client, data), 413, "file_too_large")


def test_too_large_says_the_limit_as_documented_and_the_way_for_bigger_files(app_client, settings) -> None:
    """Not "larger than 5,308,416 bytes" (the limit plus room for multipart's headers): the
    README's 5 MiB, and that POST /api/uploads takes the file."""
    data = png_of_size(10, 10) + b"\0" * settings.max_upload_bytes
    expected = (
        "the file is larger than 5 MiB, the most a request may carry; send a bigger file (up to 50 MiB) "
        'through POST /api/uploads, then {"upload_id": ...} here'
    )
    assert assert_error(upload(app_client, data), 413, "file_too_large")["message"] == expected
    raw = app_client.post("/api/predict", content=data, headers={"content-type": "image/png"})
    assert assert_error(raw, 413, "file_too_large")["message"] == expected
    row = app_client.post("/api/predict/multi", files={"image": ("row.png", data, "image/png")})
    assert assert_error(row, 413, "file_too_large")["message"] == expected


def test_too_many_pixels(app_client, settings) -> None:
    data = png_of_size(5001, 5001)  # 25,010,001 pixels: a few kB of PNG, over the 25 M limit
    assert len(data) < settings.max_upload_bytes
    error = assert_error(upload(app_client, data), 413, "image_too_large")
    assert "5001x5001" in error["message"]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"this is plain text, not an image", "image/png"),
        (b'{"image": "nope"}', "application/json"),
        (b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", "application/pdf"),
        (b"hello", "text/plain"),
    ],
)
def test_not_an_image_is_415(app_client, data: bytes, content_type: str) -> None:
    response = app_client.post("/api/predict", content=data, headers={"content-type": content_type})
    assert_error(response, 415, "unsupported_media_type")


def test_not_an_image_in_the_form_field_is_415(app_client) -> None:
    assert_error(upload(app_client, b"GIF? no, just words", filename="x.gif"), 415, "unsupported_media_type")


def test_a_truncated_image_is_422(app_client, digit_png) -> None:
    assert_error(upload(app_client, digit_png(5)[:60]), 422, "invalid_image")


def test_a_blank_image_is_422_not_a_guess(app_client) -> None:
    assert_error(upload(app_client, png_of_size(64, 64)), 422, "no_digit_found")


def test_missing_field(app_client) -> None:
    # a urlencoded form (no file at all) is a body that is not an image
    form = app_client.post("/api/predict", data={"comment": "no file"})
    assert_error(form, 415, "unsupported_media_type")
    only_text = app_client.post(
        "/api/predict",
        content=(b'--b\r\nContent-Disposition: form-data; name="comment"\r\n\r\nhi\r\n--b--\r\n'),
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert_error(only_text, 422, "missing_image")


def test_wrong_field_name(app_client, digit_png) -> None:
    error = assert_error(upload(app_client, digit_png(2), field="file"), 422, "missing_image")
    assert "'image'" in error["message"] and "file" in error["message"]


def test_empty_body_and_empty_file(app_client) -> None:
    assert_error(app_client.post("/api/predict"), 422, "missing_image")
    assert_error(
        app_client.post("/api/predict", content=b"", headers={"content-type": "image/png"}),
        422,
        "missing_image",
    )
    assert_error(upload(app_client, b""), 422, "missing_image")


def test_malformed_multipart_is_4xx(app_client) -> None:
    response = app_client.post(
        "/api/predict",
        content=b"--b\r\nno headers end here",
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert 400 <= response.status_code < 500
    assert set(response.json()["error"]) == {"code", "message"}


def test_unknown_route_and_wrong_method_use_the_error_shape(app_client) -> None:
    assert_error(app_client.get("/api/nothing-here"), 404, "not_found")
    wrong = app_client.get("/api/predict")
    assert_error(wrong, 405, "method_not_allowed")
    assert "POST" in wrong.headers["allow"]
    assert_error(app_client.put("/api/health"), 405, "method_not_allowed")


def test_query_validation_uses_the_error_shape(app_client) -> None:
    error = assert_error(app_client.get("/api/reset"), 422, "validation_error")
    assert "prediction_id" in error["message"]


# --- deleting what a prediction stored ----------------------------------------------------


@pytest.fixture
def server_client(settings, networks, moto_server_s3):
    """TestClient whose presigned URLs point at the moto server (they really fetch)."""
    recognizer = Recognizer(settings, networks, moto_server_s3.store)
    with TestClient(create_app(recognizer), raise_server_exceptions=False) as client:
        yield client


def test_presigned_urls_fetch_the_pngs(server_client, digit_png) -> None:
    body = upload(server_client, digit_png(6)).json()
    urls = [body["input_url"], body["feature_maps"]["conv1"]["url"], body["feature_maps"]["conv2"]["url"]]
    sizes = []
    for url in urls:
        response = httpx.get(url)
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        sizes.append(Image.open(io.BytesIO(response.content)).size)
    assert sizes[0] == (28, 28)
    assert sizes[1][0] > sizes[1][1]  # 4x8 grid: wider than tall
    assert sizes[2][0] == sizes[2][1]  # 8x8 grid: square


@pytest.mark.parametrize("how", ["delete", "reset"])
def test_delete_then_presigned_urls_404(server_client, digit_png, how: str) -> None:
    body = upload(server_client, digit_png(8)).json()
    prediction_id = body["prediction_id"]
    assert httpx.get(body["input_url"]).status_code == 200
    if how == "delete":
        response = server_client.delete(f"/api/predictions/{prediction_id}")
    else:
        response = server_client.get("/api/reset", params={"prediction_id": prediction_id})
    assert response.status_code == 200, response.text
    assert response.json() == {"prediction_id": prediction_id, "deleted": 3}
    for url in (body["input_url"], body["feature_maps"]["conv1"]["url"], body["feature_maps"]["conv2"]["url"]):
        assert httpx.get(url).status_code == 404
    assert_error(server_client.delete(f"/api/predictions/{prediction_id}"), 404, "not_found")


@pytest.mark.parametrize("bad_id", ["not-a-prediction", "A" * 32, "..%2F..%2Fsecret"])
def test_delete_with_a_malformed_id_is_4xx(app_client, bad_id: str) -> None:
    response = app_client.delete(f"/api/predictions/{bad_id}")
    assert response.status_code in (404, 422)
    assert response.json()["error"]["code"] in ("not_found", "invalid_prediction_id")
    assert_error(app_client.get("/api/reset", params={"prediction_id": "../x"}), 422, "invalid_prediction_id")


# --- concurrency --------------------------------------------------------------------------


def test_concurrent_requests_get_their_own_answers(server_client, digit_png) -> None:
    one, seven = digit_png(1), digit_png(7)
    expected = {data: upload(server_client, data).json()["probabilities"] for data in (one, seven)}
    assert np.argmax(expected[one]) != np.argmax(expected[seven])

    def ask(data: bytes) -> tuple[bytes, dict]:
        return data, upload(server_client, data).json()

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(ask, [one, seven] * 6))
    for data, body in results:
        assert body["probabilities"] == pytest.approx(expected[data], abs=1e-6)
        stored = httpx.get(body["input_url"]).content
        assert Image.open(io.BytesIO(stored)).size == (28, 28)
    assert len({body["prediction_id"] for _, body in results}) == len(results)


def test_delete_when_storage_is_down_is_503(app_client, serve_with, unreachable_store) -> None:
    serve_with(store=unreachable_store)
    error = assert_error(app_client.delete(f"/api/predictions/{'a' * 32}"), 503, "storage_unavailable")
    assert "NoSuchBucket" in error["message"]


def test_a_delete_s3_partly_refuses_is_503_not_a_success(app_client, serve_with, moto_s3, digit_png) -> None:
    from tests.test_storage import RefusingKeys

    prediction_id = upload(app_client, digit_png(5)).json()["prediction_id"]
    serve_with(store=dataclasses.replace(moto_s3.store, client=RefusingKeys(moto_s3.client, refuse=1, times=10)))
    error = assert_error(app_client.delete(f"/api/predictions/{prediction_id}"), 503, "storage_unavailable")
    assert "did not delete 1 of 3 files" in error["message"]


@pytest.mark.parametrize("path", ["/api/health/", "/api/predict/", "/api/predictions/" + "a" * 32 + "/"])
def test_a_trailing_slash_is_a_404_in_the_error_shape_not_a_redirect(app_client, path: str) -> None:
    response = app_client.request("GET", path, follow_redirects=False)
    assert response.status_code == 404 and "location" not in response.headers
    assert response.json()["error"]["code"] == "not_found"
