"""Shared fixtures: MNIST digits as files, moto S3 (in-process and as a server), the API app,
the whole local stack in a child process, and API Gateway HTTP API (payload 2.0) events.

Every fixture that changes the environment also forgets the cached settings on the way in and
out, so tests never see each other's configuration. S3 clients stay cached per configuration:
moto is imported before any client exists, so every client follows mock_aws when it is active.
"""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import moto  # noqa: F401 - before any botocore client is made (see above)
import numpy as np
import pytest
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]
MNIST_SAMPLE = REPO_ROOT / "tests" / "data" / "mnist_sample.npz"
FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
}


def forget_cached_configuration() -> None:
    from recognizer.settings import get_settings

    get_settings.cache_clear()


# --- digits -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MnistSample:
    images: np.ndarray  # uint8 [N, 28, 28], white digit on black
    labels: np.ndarray  # uint8 [N]

    def indices_of(self, digit: int) -> np.ndarray:
        return np.flatnonzero(self.labels == digit)

    def image_of(self, digit: int, nth: int = 0) -> np.ndarray:
        return self.images[self.indices_of(digit)[nth]]


@pytest.fixture(scope="session")
def mnist_sample() -> MnistSample:
    with np.load(MNIST_SAMPLE) as data:
        return MnistSample(images=data["images"], labels=data["labels"])


def png_bytes(pixels: np.ndarray, *, scale: int = 1, invert: bool = False) -> bytes:
    """A grey image as PNG; ``invert`` gives dark ink on white paper, ``scale`` enlarges it."""
    image = Image.fromarray(255 - pixels if invert else pixels)
    if scale > 1:
        image = image.resize((image.width * scale, image.height * scale), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def digit_png(mnist_sample: MnistSample) -> Callable[..., bytes]:
    """``digit_png(7)``: a real MNIST 7 as a PNG file (dark ink on white, 4x size, by default)."""

    def make(digit: int, nth: int = 0, *, scale: int = 4, invert: bool = True) -> bytes:
        return png_bytes(mnist_sample.image_of(digit, nth), scale=scale, invert=invert)

    return make


# --- S3 by moto ---------------------------------------------------------------------------


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Fake credentials and a fresh bucket name; no S3 endpoint (moto in-process or real)."""
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_REGION", "S3_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    bucket = f"test-maps-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("MAPS_BUCKET", bucket)
    forget_cached_configuration()
    yield bucket
    forget_cached_configuration()


@pytest.fixture
def moto_s3(aws_env: str) -> Iterator[S3Handle]:
    """moto's in-process S3 (mock_aws) with the maps bucket created."""
    from moto import mock_aws

    with mock_aws():
        forget_cached_configuration()
        from recognizer.storage import s3_client

        client = s3_client()
        client.create_bucket(Bucket=aws_env)
        yield S3Handle(client=client, bucket=aws_env, endpoint=None)
    forget_cached_configuration()


@dataclass(frozen=True)
class S3Handle:
    client: object
    bucket: str
    endpoint: str | None

    def keys(self, prefix: str = "") -> list[str]:
        listing = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for item in listing.get("Contents", []))


@pytest.fixture(scope="session")
def moto_server_endpoint() -> Iterator[str]:
    """moto's S3 server on a free loopback port, for the session (buckets are per test)."""
    from infra.local_stack import start_moto_s3

    server, endpoint = start_moto_s3()
    yield endpoint
    server.stop()


@pytest.fixture
def moto_server_s3(
    aws_env: str, moto_server_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[S3Handle]:
    """The recognizer pointed at the moto server (real HTTP, presigned URLs that fetch)."""
    monkeypatch.setenv("S3_ENDPOINT_URL", moto_server_endpoint)
    forget_cached_configuration()
    from recognizer.storage import s3_client

    client = s3_client()
    client.create_bucket(Bucket=aws_env)
    yield S3Handle(client=client, bucket=aws_env, endpoint=moto_server_endpoint)
    forget_cached_configuration()


# --- the app ------------------------------------------------------------------------------


@pytest.fixture
def app_client(moto_s3: S3Handle):
    """FastAPI's TestClient on a fresh app, S3 by moto in-process."""
    from fastapi.testclient import TestClient

    from recognizer.api import create_app

    with TestClient(create_app(), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="session")
def local_stack() -> Iterator[str]:
    """The whole local stack (moto S3 server + API + site) in a child process; its base URL."""
    from infra.local_stack import local_stack_process

    with local_stack_process() as stack:
        yield stack.url


# --- Lambda -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FakeLambdaContext:
    function_name: str = "digit-recognizer-test"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 2048
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:digit-recognizer-test"
    )
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    log_group_name: str = "/aws/lambda/digit-recognizer-test"
    log_stream_name: str = "2024/01/01/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


def http_api_event(
    method: str,
    path: str,
    *,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    request_id: str | None = None,
) -> dict:
    """An API Gateway HTTP API (payload format 2.0) event; bodies are sent base64-encoded."""
    headers = {"host": "api.example.test", "user-agent": "pytest", **(headers or {})}
    headers = {name.lower(): value for name, value in headers.items()}
    raw_body = body.encode() if isinstance(body, str) else body
    query_string = "&".join(f"{name}={value}" for name, value in (query or {}).items())
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query_string,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api1234567",
            "domainName": "api.example.test",
            "domainPrefix": "api",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
                "userAgent": "pytest",
            },
            "requestId": request_id or uuid.uuid4().hex,
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Jan/2024:00:00:00 +0000",
            "timeEpoch": 1704067200000,
        },
        "isBase64Encoded": raw_body is not None,
    }
    if query:
        event["queryStringParameters"] = dict(query)
    if raw_body is not None:
        event["body"] = base64.b64encode(raw_body).decode()
    return event


def multipart_body(
    fields: dict[str, tuple[str, bytes, str]], boundary: str | None = None
) -> tuple[bytes, str]:
    """A multipart/form-data body from {field: (filename, data, content type)}; (body, type)."""
    boundary = boundary or f"----pytest{uuid.uuid4().hex}"
    lines: list[bytes] = []
    for field, (filename, data, content_type) in fields.items():
        lines += [
            f"--{boundary}".encode(),
            f'Content-Disposition: form-data; name="{field}"; filename="{filename}"'.encode(),
            f"Content-Type: {content_type}".encode(),
            b"",
            data,
        ]
    lines += [f"--{boundary}--".encode(), b""]
    return b"\r\n".join(lines), f"multipart/form-data; boundary={boundary}"


@pytest.fixture(scope="session")
def api_gateway_event() -> Callable[..., dict]:
    """``api_gateway_event("POST", "/api/predict", body=..., headers=...)``."""
    return http_api_event
