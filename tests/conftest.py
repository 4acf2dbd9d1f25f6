"""Shared fixtures: MNIST digits as files, the networks (loaded once), settings and a
``Recognizer`` per test, moto S3 (in-process and as a server), the API app, the whole local
stack in a child process, and API Gateway HTTP API (payload 2.0) events.

Configuration is never read from this process's environment: each test builds its own
``Settings`` and ``Recognizer`` (``serve_with`` swaps the app's recognizer through FastAPI's
dependency overrides). moto is imported before any boto3 client exists, so every client follows
mock_aws when it is active.
"""

from __future__ import annotations

import base64
import dataclasses
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import moto  # noqa: F401 - before any botocore client is made (see above)
import numpy as np
import pytest
from PIL import Image

from recognizer.api import create_app
from recognizer.api.deps import get_recognizer
from recognizer.links import link_signer
from recognizer.networks import Networks, load_networks
from recognizer.service import Recognizer
from recognizer.settings import REPO_MODELS, Settings
from recognizer.storage import Credentials, MapStore, open_store
from tests.uploads import Part, encode, multipart

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
FAKE_CREDENTIALS = Credentials("testing", "testing")


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
    return encode(image, "PNG")


@pytest.fixture(scope="session")
def digit_png(mnist_sample: MnistSample) -> Callable[..., bytes]:
    """``digit_png(7)``: a real MNIST 7 as a PNG file (dark ink on white, 4x size, by default)."""

    def make(digit: int, nth: int = 0, *, scale: int = 4, invert: bool = True) -> bytes:
        return png_bytes(mnist_sample.image_of(digit, nth), scale=scale, invert=invert)

    return make


# --- the service -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def networks() -> Networks:
    """The committed models, loaded once for the whole session (read-only)."""
    return load_networks(REPO_MODELS)


@pytest.fixture
def settings() -> Settings:
    """The defaults, with a bucket of this test's own."""
    return Settings(maps_bucket=f"test-maps-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def offline(settings: Settings, networks: Networks) -> Recognizer:
    """A recognizer that stores nothing (as the CLI reads files)."""
    return Recognizer(settings, networks, store=None)


# --- S3 by moto ---------------------------------------------------------------------------


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials for boto3's own chain (moto checks none; no real profile is read)."""
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_REGION", "S3_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


def without_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """An environment where boto3's chain finds nothing, as a function without a role would."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


# Where a maps bucket may be, as Settings changes: what presigned links and the bucket writer's
# PUTs are checked against the client's own in (tests/test_links.py, tests/test_bucket_writer.py).
BUCKET_PLACES = [
    {"s3_endpoint_url": "http://127.0.0.1:9000"},  # the local stack: path style
    {"aws_region": "us-east-1"},  # AWS: the bucket's regional virtual host
    {"aws_region": "eu-west-3", "presigned_url_expiry": 60},
    {"aws_region": "ap-southeast-2", "maps_bucket": "maps.with.dots"},  # dotted: path style on AWS
]


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore's signers read botocore.auth's clock: the same instant gives the same signature."""
    import datetime

    import botocore.auth

    instant = datetime.datetime(2026, 12, 7, 23, 59, 30)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *args, **kwargs: instant)


@dataclass(frozen=True)
class S3Handle:
    store: MapStore
    endpoint: str | None

    @property
    def client(self):
        return self.store.client

    @property
    def bucket(self) -> str:
        return self.store.bucket

    def keys(self, prefix: str = "") -> list[str]:
        listing = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for item in listing.get("Contents", []))


@pytest.fixture
def moto_s3(aws_env: None, settings: Settings) -> Iterator[S3Handle]:
    """moto's in-process S3 (mock_aws) with the maps bucket created."""
    from moto import mock_aws

    with mock_aws():
        store = open_store(settings, FAKE_CREDENTIALS, direct_puts=False)
        store.client.create_bucket(Bucket=settings.maps_bucket)
        yield S3Handle(store=store, endpoint=None)
        store.close()


@pytest.fixture(scope="session")
def moto_server_endpoint() -> Iterator[str]:
    """moto's S3 server on a free loopback port, for the session (buckets are per test)."""
    from infra.local_stack import start_moto_s3

    server, endpoint = start_moto_s3()
    yield endpoint
    server.stop()


@pytest.fixture
def moto_server_s3(aws_env: None, settings: Settings, moto_server_endpoint: str) -> Iterator[S3Handle]:
    """A store on the moto server (real HTTP, presigned URLs that fetch)."""
    store = open_store(settings.model_copy(update={"s3_endpoint_url": moto_server_endpoint}), FAKE_CREDENTIALS)
    store.client.create_bucket(Bucket=settings.maps_bucket)
    yield S3Handle(store=store, endpoint=moto_server_endpoint)
    store.close()


# --- the app ------------------------------------------------------------------------------


@pytest.fixture
def recognizer(settings: Settings, networks: Networks, moto_s3: S3Handle) -> Recognizer:
    """The service, storing in moto's in-process S3."""
    return Recognizer(settings, networks, moto_s3.store)


@pytest.fixture
def app(recognizer: Recognizer):
    return create_app(recognizer)


@pytest.fixture
def app_client(app):
    """FastAPI's TestClient on a fresh app, S3 by moto in-process."""
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def serve_with(app, recognizer: Recognizer) -> Iterator[Callable[..., Recognizer]]:
    """``serve_with(settings=..., store=...)``: the app answers with a recognizer changed so,
    through FastAPI's dependency overrides; ``serve_with(max_upload_bytes=...)`` changes settings."""

    def use(**changes) -> Recognizer:
        fields = {name for name in ("settings", "networks", "store") if name in changes}
        updates = {name: value for name, value in changes.items() if name not in fields}
        replaced = {name: changes[name] for name in fields}
        if updates:
            replaced["settings"] = replaced.get("settings", recognizer.settings).model_copy(update=updates)
        other = dataclasses.replace(recognizer, **replaced)
        app.dependency_overrides[get_recognizer] = lambda: other
        return other

    yield use
    app.dependency_overrides.clear()


@pytest.fixture
def unreachable_store(moto_s3: S3Handle) -> MapStore:
    """A store whose bucket does not exist (every call fails as S3 would)."""
    return in_bucket(moto_s3.store, "bucket-that-does-not-exist")


def in_bucket(store: MapStore, bucket: str) -> MapStore:
    """``store``'s client and pool working on another bucket (its links signed for that one)."""
    assert store.links is not None
    links = link_signer(store.client, store.links.credentials, bucket)
    writer = None if store.writer is None else dataclasses.replace(store.writer, signer=links)
    return dataclasses.replace(store, bucket=bucket, links=links, writer=writer)


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
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:digit-recognizer-test"
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


def multipart_body(fields: dict[str, tuple[str, bytes, str]], boundary: str | None = None) -> tuple[bytes, str]:
    """A multipart/form-data body from {field: (filename, data, content type)}; (body, type)."""
    return multipart(
        [Part(field, data, filename, content_type) for field, (filename, data, content_type) in fields.items()],
        boundary,
    )


@pytest.fixture(scope="session")
def api_gateway_event() -> Callable[..., dict]:
    """``api_gateway_event("POST", "/api/predict", body=..., headers=...)``."""
    return http_api_event
