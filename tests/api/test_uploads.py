"""Big files straight to S3: POST /api/uploads, the presigned POST itself (moto's server, real
HTTP), then the predict routes answering by upload_id, and every way an upload_id can be wrong."""

from __future__ import annotations

import base64
import io
import json
import urllib.error
import urllib.request
import uuid

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from recognizer.api import create_app
from recognizer.service import Recognizer
from tests.photos import photo_file


@pytest.fixture
def client(settings, networks, moto_server_s3):
    recognizer = Recognizer(settings, networks, moto_server_s3.store)
    with TestClient(create_app(recognizer), raise_server_exceptions=False) as test_client:
        test_client.recognizer = recognizer  # type: ignore[attr-defined]
        yield test_client


def send_to_s3(ticket: dict, data: bytes, content_type: str = "image/jpeg") -> int:
    """POST the file as a browser's form would: the fields, then the file."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in ticket["fields"].items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="photo"\r\n'
        f"Content-Type: {content_type}\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    request = urllib.request.Request(ticket["url"], data=b"".join(parts), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def ticket_for(client, data: bytes, content_type: str = "image/jpeg") -> dict:
    response = client.post("/api/uploads", json={"content_type": content_type, "content_length": len(data)})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_photo_over_the_direct_limit_is_read_through_s3_then_deleted(
    settings, networks, mnist_sample, moto_server_s3
):
    photo = photo_file(mnist_sample.image_of(3), side=2600, noise=6, quality=97)
    # As on AWS: the direct limit is under the photo's size, the S3 limit over it.
    direct = settings.model_copy(update={"max_upload_bytes": len(photo) // 2})
    assert len(photo) <= direct.max_s3_upload_bytes
    with TestClient(create_app(Recognizer(direct, networks, moto_server_s3.store))) as client:
        sent = client.post("/api/predict", files={"image": ("photo.jpg", photo, "image/jpeg")})
        assert sent.status_code == 413  # too big to send directly...
        ticket = ticket_for(client, photo)  # ...so it goes to S3
        assert set(ticket) == {"upload_id", "url", "fields", "expires_in", "max_bytes"}
        assert ticket["fields"]["key"] == f"uploads/{ticket['upload_id']}"
        assert ticket["max_bytes"] == direct.max_s3_upload_bytes and ticket["expires_in"] == direct.upload_url_expiry
        assert send_to_s3(ticket, photo) in (200, 201, 204)
        assert moto_server_s3.keys("uploads/") == [f"uploads/{ticket['upload_id']}"]
        answer = client.post("/api/predict", json={"upload_id": ticket["upload_id"]})
        assert answer.status_code == 200, answer.text
        assert answer.json()["predicted_digit"] == 3 and answer.json()["is_digit"] is True
        assert moto_server_s3.keys("uploads/") == []  # read once, then deleted
        again = client.post("/api/predict", json={"upload_id": ticket["upload_id"]})
        assert again.status_code == 404 and again.json()["error"]["code"] == "upload_not_found"


def test_rows_and_batches_take_upload_ids_too(client, mnist_sample, digit_png, moto_server_s3):
    row = np.hstack([255 - mnist_sample.image_of(d) for d in (4, 2)])
    buffer = io.BytesIO()
    Image.fromarray(row).resize((row.shape[1] * 4, 112), Image.Resampling.BICUBIC).save(buffer, format="PNG")
    ticket = ticket_for(client, buffer.getvalue(), "image/png")
    assert send_to_s3(ticket, buffer.getvalue(), "image/png") in (200, 201, 204)
    answer = client.post("/api/predict/multi", json={"upload_id": ticket["upload_id"]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["number"] == "42"
    sent = []
    for digit in (7, 1):
        data = digit_png(digit)
        one = ticket_for(client, data, "image/png")
        assert send_to_s3(one, data, "image/png") in (200, 201, 204)
        sent.append(one["upload_id"])
    unknown = uuid.uuid4().hex
    results = client.post("/api/predict/batch", json={"upload_ids": [*sent, unknown]}).json()["results"]
    assert [r.get("predicted_digit") for r in results[:2]] == [7, 1]
    assert results[2] == {
        "filename": unknown,
        "error": {"code": "upload_not_found", "message": results[2]["error"]["message"]},
    }
    assert moto_server_s3.keys("uploads/") == []


def test_a_file_larger_than_the_ticket_allows_is_refused(client, settings, networks, moto_server_s3):
    """S3 itself refuses the POST (the policy's content-length-range; moto does not enforce it),
    and the function checks the object's size before reading it anyway."""
    tiny = Recognizer(settings.model_copy(update={"max_s3_upload_bytes": 1000}), networks, moto_server_s3.store)
    with TestClient(create_app(tiny), raise_server_exceptions=False) as small:
        too_big = small.post("/api/uploads", json={"content_type": "image/png", "content_length": 1001})
        assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "file_too_large"
        ticket = small.post("/api/uploads", json={"content_type": "image/png", "content_length": 900}).json()
        policy = json.loads(base64.b64decode(ticket["fields"]["policy"]))
        assert ["content-length-range", 1, 1000] in policy["conditions"]
        assert {"Content-Type": "image/png"} in policy["conditions"]
        send_to_s3(ticket, b"\x89PNG" + bytes(2000), "image/png")
        answer = small.post("/api/predict", json={"upload_id": ticket["upload_id"]})
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "file_too_large"
    assert moto_server_s3.keys("uploads/") == []  # and it is gone


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"upload_id": "../predictions/x"}, 422, "invalid_upload_id"),
        ({"upload_id": uuid.uuid4().hex}, 404, "upload_not_found"),
        ({"upload": "x"}, 415, "unsupported_media_type"),
    ],
)
def test_a_wrong_upload_id_is_a_4xx_in_the_error_shape(client, body: dict, status: int, code: str):
    for route in ("/api/predict", "/api/predict/multi"):
        response = client.post(route, json=body)
        assert response.status_code == status, response.text
        assert set(response.json()) == {"error"} and response.json()["error"]["code"] == code


@pytest.mark.parametrize(
    "request_body",
    [
        {"content_type": "text/html", "content_length": 10},
        {"content_type": "image/png", "content_length": 0},
        {"content_type": "image/png"},
        {"content_type": "image/png", "content_length": 10, "acl": "public-read"},
    ],
)
def test_an_upload_request_that_does_not_fit_is_a_422(client, request_body: dict):
    response = client.post("/api/uploads", json=request_body)
    assert response.status_code == 422 and set(response.json()) == {"error"}, response.text


def test_the_openapi_document_states_the_upload_path_and_its_limit(client):
    schema = client.get("/api/openapi.json").json()
    assert "/api/uploads" in schema["paths"]
    assert "50 MiB" in schema["paths"]["/api/uploads"]["post"]["description"]
    assert schema["info"]["x-upload"]["max_s3_bytes"] == 50 * 1024 * 1024
    assert json.dumps(schema).count("upload_id") >= 3
