"""POST /api/predictions/{id}/correction: with consent, the 28x28 input and the label are kept
under corrections/ (784 bytes, never the upload); anything else is a 4xx in the error shape."""

from __future__ import annotations

import numpy as np
import pytest

from recognizer.feature_maps import input_pixels
from recognizer.storage import CORRECTION_BYTES, NOT_A_DIGIT_LABEL
from tests.drawings import canvas_png


def predicted(client, data: bytes) -> dict:
    response = client.post("/api/predict", files={"image": ("drawing.png", data, "image/png")})
    assert response.status_code == 200, response.text
    return response.json()


def correct(client, prediction_id: str, body: object):
    return client.post(f"/api/predictions/{prediction_id}/correction", json=body)


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"} and response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


def kept(moto_s3, prediction_id: str) -> tuple[bytes, dict]:
    stored = moto_s3.client.get_object(Bucket=moto_s3.bucket, Key=f"corrections/{prediction_id}")
    return stored["Body"].read(), stored["Metadata"]


def test_a_correction_keeps_the_784_byte_input_and_the_label_only(app_client, mnist_sample, moto_s3) -> None:
    upload = canvas_png(mnist_sample.image_of(4))
    answer = predicted(app_client, upload)
    prediction_id = answer["prediction_id"]
    response = correct(app_client, prediction_id, {"digit": 9, "consent": True})
    assert response.status_code == 201, response.text
    assert response.json() == {"prediction_id": prediction_id, "digit": 9}
    assert moto_s3.keys("corrections/") == [f"corrections/{prediction_id}"]
    pixels, metadata = kept(moto_s3, prediction_id)
    assert len(pixels) == CORRECTION_BYTES and metadata == {"label": "9"}
    png = moto_s3.client.get_object(Bucket=moto_s3.bucket, Key=f"predictions/{prediction_id}/input.png")["Body"]
    assert pixels == input_pixels(png.read()).tobytes()  # exactly the input the network saw
    assert np.frombuffer(pixels, np.uint8).max() == 255  # the input itself, never the upload (a PNG of 280x280)


def test_not_a_digit_is_kept_as_class_10_and_a_second_correction_replaces_the_first(
    app_client, mnist_sample, moto_s3
) -> None:
    prediction_id = predicted(app_client, canvas_png(mnist_sample.image_of(1)))["prediction_id"]
    assert correct(app_client, prediction_id, {"digit": 7, "consent": True}).status_code == 201
    response = correct(app_client, prediction_id, {"digit": None, "consent": True})
    assert response.status_code == 201 and response.json()["digit"] is None
    assert moto_s3.keys("corrections/") == [f"corrections/{prediction_id}"]
    assert kept(moto_s3, prediction_id)[1] == {"label": str(NOT_A_DIGIT_LABEL)}


@pytest.mark.parametrize(
    "body",
    [
        {"digit": 3},
        {"digit": 3, "consent": False},
        {"digit": 3, "consent": "yes"},
        {"digit": 10, "consent": True},
        {"digit": -1, "consent": True},
        {"digit": "3x", "consent": True},
        {"digit": 3.5, "consent": True},
        {"consent": True},
        {"digit": 3, "consent": True, "image": "AAAA"},
        [3, True],
    ],
    ids=[
        "no consent",
        "consent false",
        "consent a word",
        "10",
        "-1",
        "a word",
        "a fraction",
        "no digit",
        "more",
        "a list",
    ],
)
def test_without_consent_or_with_another_value_nothing_is_kept(app_client, mnist_sample, moto_s3, body) -> None:
    prediction_id = predicted(app_client, canvas_png(mnist_sample.image_of(2)))["prediction_id"]
    assert_error(correct(app_client, prediction_id, body), 422, "validation_error")
    assert moto_s3.keys("corrections/") == []


def test_a_body_that_is_not_json_is_refused(app_client, mnist_sample, moto_s3) -> None:
    prediction_id = predicted(app_client, canvas_png(mnist_sample.image_of(2)))["prediction_id"]
    response = app_client.post(
        f"/api/predictions/{prediction_id}/correction",
        content=b"\x89PNG" + bytes(784),
        headers={"content-type": "image/png"},
    )
    assert_error(response, 422, "validation_error")
    assert moto_s3.keys("corrections/") == []


def test_a_prediction_whose_files_are_gone_cannot_be_corrected(app_client, mnist_sample, moto_s3) -> None:
    never = "0123456789abcdef0123456789abcdef"
    assert_error(correct(app_client, never, {"digit": 3, "consent": True}), 404, "not_found")
    prediction_id = predicted(app_client, canvas_png(mnist_sample.image_of(6)))["prediction_id"]
    assert app_client.delete(f"/api/predictions/{prediction_id}").status_code == 200
    assert_error(correct(app_client, prediction_id, {"digit": 3, "consent": True}), 404, "not_found")
    assert moto_s3.keys("corrections/") == []


def test_a_prediction_that_stored_no_readable_input_cannot_be_corrected(app_client, moto_s3) -> None:
    prediction_id = "fedcba9876543210fedcba9876543210"
    moto_s3.client.put_object(Bucket=moto_s3.bucket, Key=f"predictions/{prediction_id}/input.png", Body=b"x" * 784)
    assert_error(correct(app_client, prediction_id, {"digit": 3, "consent": True}), 404, "not_found")
    assert moto_s3.keys("corrections/") == []


@pytest.mark.parametrize("prediction_id", ["abc", "0123456789ABCDEF0123456789ABCDEF", "..%2F..%2Fcorrections"])
def test_an_id_this_service_never_makes_is_refused(app_client, prediction_id: str) -> None:
    response = correct(app_client, prediction_id, {"digit": 3, "consent": True})
    assert response.status_code in (404, 422), response.text
    assert set(response.json()) == {"error"}


def test_storage_failing_is_a_503(app_client, serve_with, unreachable_store) -> None:
    serve_with(store=unreachable_store)
    response = correct(app_client, "0123456789abcdef0123456789abcdef", {"digit": 3, "consent": True})
    assert_error(response, 503, "storage_unavailable")


def test_no_route_lists_or_reads_corrections(app_client, mnist_sample, moto_s3) -> None:
    prediction_id = predicted(app_client, canvas_png(mnist_sample.image_of(8)))["prediction_id"]
    assert correct(app_client, prediction_id, {"digit": 3, "consent": True}).status_code == 201
    assert_error(app_client.get(f"/api/predictions/{prediction_id}/correction"), 405, "method_not_allowed")
    for path in ("/api/corrections", f"/api/corrections/{prediction_id}", "/api/predictions"):
        assert app_client.get(path).status_code in (404, 405), path
    spec = app_client.get("/api/openapi.json").json()
    assert [path for path in spec["paths"] if "correction" in path] == ["/api/predictions/{prediction_id}/correction"]
    assert set(spec["paths"]["/api/predictions/{prediction_id}/correction"]) == {"post"}
