"""ORIGIN_SECRET: with it set, only requests carrying it in X-Origin-Verify (CloudFront's api
origin adds it) are answered; any other is refused 403 in the error shape, before any route."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from recognizer.api import create_app
from recognizer.api.outcome import RequestOutcome
from recognizer.service import Recognizer

SECRET = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def outcomes() -> list[RequestOutcome]:
    return []


@pytest.fixture
def guarded(settings, networks, outcomes):
    recognizer = Recognizer(settings.model_copy(update={"origin_secret": SECRET}), networks, store=None)
    with TestClient(create_app(recognizer, on_outcome=outcomes.append), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Origin-Verify": ""},
        {"X-Origin-Verify": SECRET[:-1]},
        {"X-Origin-Verify": SECRET + "0"},
        {"X-Origin-Verify-Not": SECRET},
    ],
    ids=["none", "empty", "short", "long", "other-name"],
)
def test_a_request_without_cloudfronts_secret_is_refused_403(guarded, outcomes, headers) -> None:
    for method, path in (("GET", "/api/health"), ("POST", "/api/predict"), ("GET", "/api/nowhere")):
        response = guarded.request(method, path, headers=headers)
        assert response.status_code == 403, (method, path, response.text)
        error = response.json()["error"]
        assert set(response.json()) == {"error"} and error["code"] == "direct_access_refused"
        assert "site's address" in error["message"]
    # Counted like any other refusal (the handler's Errors metric by code).
    assert {(o.status, o.error_code) for o in outcomes} == {(403, "direct_access_refused")}


def test_the_secret_sent_twice_is_refused_too(guarded) -> None:
    response = guarded.get("/api/health", headers=[("X-Origin-Verify", SECRET), ("X-Origin-Verify", SECRET)])
    assert response.status_code == 403


def test_a_request_through_cloudfront_is_answered(guarded, digit_png) -> None:
    assert guarded.get("/api/health", headers={"X-Origin-Verify": SECRET}).status_code == 200
    sent = guarded.post(
        "/api/predict", files={"image": ("7.png", digit_png(7), "image/png")}, headers={"x-origin-verify": SECRET}
    )
    assert sent.status_code == 200 and sent.json()["predicted_digit"] == 7


def test_without_the_setting_nothing_is_checked(settings, networks) -> None:
    assert settings.origin_secret is None  # the default: locally and in tests
    with TestClient(create_app(Recognizer(settings, networks, store=None))) as client:
        assert client.get("/api/health").status_code == 200


def test_the_secret_comes_from_the_environment_and_is_never_printed(settings) -> None:
    from recognizer.settings import Settings

    configured = Settings.from_env({"ORIGIN_SECRET": SECRET})
    assert configured.origin_secret == SECRET and SECRET not in repr(configured)
    with pytest.raises(ValueError, match="ORIGIN_SECRET"):
        Settings.from_env({"ORIGIN_SECRET": "short"})
