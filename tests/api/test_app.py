"""The app's composition: the recognizer it is built with answers, tests swap it through
FastAPI's dependency overrides, OpenAPI states the limits of its settings, and every domain
error has its HTTP status."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from fastapi.testclient import TestClient

from recognizer import errors
from recognizer.api import create_app
from recognizer.api.deps import get_recognizer
from recognizer.api.errors import CLIENT_ERROR_STATUS, status_of
from recognizer.service import Recognizer
from recognizer.sizes import size_text


def test_routes_answer_with_the_recognizer_the_app_was_built_with(offline: Recognizer, digit_png) -> None:
    small = dataclasses.replace(offline, settings=offline.settings.model_copy(update={"max_upload_bytes": 100}))
    big, tight = TestClient(create_app(offline)), TestClient(create_app(small))
    data = digit_png(1)
    assert big.post("/api/predict", files={"image": ("one.png", data, "image/png")}).status_code == 200
    answer = tight.post("/api/predict", files={"image": ("one.png", data, "image/png")})
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "file_too_large"


def test_a_dependency_override_swaps_the_recognizer(app, app_client, digit_png) -> None:
    class Refusing(Recognizer):
        def predict_digit(self, data: bytes, **options):
            raise errors.NoDigitFound("no digit found: refused by the test")

    original = app.state.recognizer
    app.dependency_overrides[get_recognizer] = lambda: Refusing(original.settings, original.networks, original.store)
    answer = app_client.post("/api/predict", content=digit_png(3), headers={"content-type": "image/png"})
    assert answer.status_code == 422 and "refused by the test" in answer.json()["error"]["message"]


@pytest.mark.parametrize(
    ("update", "texts"),
    [
        ({}, ["at most 5 MiB", "up to 32 images (20 MiB in all)"]),
        (
            {"max_upload_bytes": 4 << 20, "max_batch_files": 8, "max_batch_bytes": 6 << 20},
            ["at most 4 MiB", "up to 8 images (6 MiB in all)"],
        ),
    ],
)
def test_openapi_states_the_limits_of_the_settings(offline: Recognizer, update: dict, texts: list[str]) -> None:
    recognizer = dataclasses.replace(offline, settings=offline.settings.model_copy(update=update))
    schema = TestClient(create_app(recognizer)).get("/api/openapi.json").json()
    paths = schema["paths"]
    image = paths["/api/predict"]["post"]["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert texts[0] in image["properties"]["image"]["description"]
    assert "TIFF" in image["properties"]["image"]["description"]
    assert texts[1] in paths["/api/predict/batch"]["post"]["description"]
    assert not re.search(r"\{(max_upload|max_batch_files|max_batch_bytes|formats)\}", json.dumps(paths))
    # The site sizes its batches from these (it splits a bigger choice of files into several).
    limits = schema["info"]["x-upload"]
    settings = recognizer.settings
    assert (limits["max_bytes"], limits["max_batch_files"], limits["max_batch_bytes"]) == (
        settings.max_upload_bytes,
        settings.max_batch_files,
        settings.max_batch_bytes,
    )


def test_byte_counts_read_as_people_write_them() -> None:
    assert [size_text(n) for n in (5 << 20, 4 << 20, 1536 << 10, 20 << 10, 1000)] == [
        "5 MiB",
        "4 MiB",
        "1.5 MiB",
        "20 KiB",
        "1,000 bytes",
    ]


def test_every_client_error_has_a_4xx_status() -> None:
    kinds = [kind for kind in vars(errors).values() if isinstance(kind, type) and issubclass(kind, errors.ClientError)]
    assert set(kinds) - {errors.ClientError} == set(CLIENT_ERROR_STATUS)
    for kind in kinds:
        assert 400 <= status_of(kind("x")) < 500
    assert status_of(errors.ClientError("x")) == 400
