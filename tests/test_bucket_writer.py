"""The bucket writer's PUT is the boto3 client's own PutObject, header for header; it stores
what the client would, retries what the client retries and fails as the client fails."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from recognizer.bucket_writer import BucketWriter, s3_error
from recognizer.storage import PNG, object_key, open_store
from tests.conftest import BUCKET_PLACES, FAKE_CREDENTIALS
from tests.reliability.faults import closed_port_endpoint

PREDICTION = "0123456789abcdef0123456789abcdef"
BODY = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
SIGNED = ("Authorization", "X-Amz-Date", "X-Amz-Content-SHA256", "X-Amz-Security-Token", "Content-Type")


class Captured(Exception):
    """Raised where the request would be sent: nothing leaves the process."""


@dataclasses.dataclass
class CapturingPool:
    """Stands in for the writer's urllib3 pool: records the request and answers 200."""

    seen: list[tuple[str, str, bytes, dict[str, str]]] = dataclasses.field(default_factory=list)

    def request(self, method: str, url: str, *, body: bytes, headers: dict[str, str], **_: object):
        self.seen.append((method, url, body, headers))
        return type("Answer", (), {"status": 200, "data": b""})()


def clients_put(store, key: str) -> tuple[str, dict[str, str], bytes]:
    """The request the client's put_object would send (URL, headers, body)."""
    seen = []

    def capture(request, **_):
        seen.append(request)
        raise Captured

    store.client.meta.events.register("before-send.s3.PutObject", capture)
    with pytest.raises(Captured):
        store.client.put_object(Bucket=store.bucket, Key=key, Body=BODY, ContentType=PNG)
    store.client.meta.events.unregister("before-send.s3.PutObject", capture)
    request = seen[0]
    body = request.body
    if hasattr(body, "read"):  # the client sends a seekable stream of the bytes
        body.seek(0)
        body = body.read()
    headers = {name: value.decode() if isinstance(value, bytes) else value for name, value in request.headers.items()}
    return request.url, headers, body


@pytest.mark.parametrize(
    "changes",
    BUCKET_PLACES,
)
@pytest.mark.parametrize("token", [None, "a-session-token"])  # a Lambda role's credentials carry a token
def test_a_put_is_the_clients_own(
    aws_env, settings, frozen_clock, monkeypatch: pytest.MonkeyPatch, changes: dict, token: str | None
) -> None:
    if token:
        monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    store = open_store(settings.model_copy(update=changes), None if token else FAKE_CREDENTIALS)
    assert store.writer is not None
    pool = CapturingPool()
    writer = dataclasses.replace(store.writer, pool=pool)
    key = object_key(PREDICTION, "conv1.png")
    url, headers, body = clients_put(store, key)
    writer.put(key, BODY, PNG)
    [(method, sent_url, sent_body, sent_headers)] = pool.seen
    assert (method, sent_url, sent_body) == ("PUT", url, body)
    for name in SIGNED:
        assert sent_headers.get(name) == headers.get(name), name
    assert ("X-Amz-Security-Token" in sent_headers) == bool(token)
    assert "Expect" not in sent_headers and "Expect" not in headers
    store.close()


def test_a_put_object_is_stored_as_the_client_stores_it(moto_server_s3) -> None:
    store = moto_server_s3.store
    assert store.writer is not None
    key = object_key(PREDICTION, "input.png")
    store.writer.put(key, BODY, PNG)
    stored = store.client.get_object(Bucket=store.bucket, Key=key)
    assert stored["Body"].read() == BODY and stored["ContentType"] == PNG


def test_a_prediction_stored_through_the_writer_links_to_its_files(moto_server_s3) -> None:
    import httpx

    store = moto_server_s3.store
    urls = store.put_files(PREDICTION, {"input.png": lambda: BODY, "conv1.png": lambda: BODY[::-1]})
    assert moto_server_s3.keys("predictions/") == [object_key(PREDICTION, n) for n in ("conv1.png", "input.png")]
    assert httpx.get(urls["input.png"]).content == BODY
    assert httpx.get(urls["conv1.png"]).content == BODY[::-1]


def test_s3s_error_is_read_as_the_client_reads_it() -> None:
    denied = s3_error(403, b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>")
    assert isinstance(denied, ClientError)
    assert denied.response["Error"] == {"Code": "AccessDenied", "Message": "Access Denied"}
    assert denied.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert s3_error(502, b"<html>Bad gateway</html").response["Error"] == {"Code": "502", "Message": ""}


class Flaky:
    """A server answering the first ``failures`` PUTs 503 SlowDown, the rest 200."""

    def __init__(self, failures: int) -> None:
        self.puts = 0
        flaky = self

        class Answer(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_PUT(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                flaky.puts += 1
                failing = flaky.puts <= failures
                payload = b"<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>"
                self.send_response(503 if failing else 200)
                self.send_header("Content-Length", str(len(payload) if failing else 0))
                self.end_headers()
                if failing:
                    self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def flaky() -> Iterator[Flaky]:
    server = Flaky(failures=1)
    yield server
    server.server.shutdown()
    server.server.server_close()


def writer_for(settings, endpoint: str, attempts: int) -> BucketWriter:
    configured = settings.model_copy(update={"s3_endpoint_url": endpoint, "storage_max_attempts": attempts})
    store = open_store(configured, FAKE_CREDENTIALS)
    assert store.writer is not None
    store.close()
    return store.writer


def test_slow_down_is_tried_again_within_the_attempts(aws_env, settings, flaky: Flaky) -> None:
    writer_for(settings, flaky.endpoint, attempts=2).put("predictions/a/input.png", BODY, PNG)
    assert flaky.puts == 2


def test_slow_down_on_the_last_attempt_fails_as_s3_said(aws_env, settings, flaky: Flaky) -> None:
    with pytest.raises(ClientError) as failure:
        writer_for(settings, flaky.endpoint, attempts=1).put("predictions/a/input.png", BODY, PNG)
    assert failure.value.response["Error"]["Code"] == "SlowDown" and flaky.puts == 1


def test_nothing_listening_fails_as_the_clients_connection_error(aws_env, settings) -> None:
    with pytest.raises(EndpointConnectionError):
        writer_for(settings, closed_port_endpoint(), attempts=2).put("predictions/a/input.png", BODY, PNG)


def test_in_process_moto_puts_through_the_client(moto_s3) -> None:
    """mock_aws sees the client's calls only: that store has no writer, and its PUTs land."""
    store = moto_s3.store
    assert store.writer is None
    store.put_files(PREDICTION, {"input.png": lambda: BODY})
    assert moto_s3.keys("predictions/") == [object_key(PREDICTION, "input.png")]


def test_a_store_refuses_a_writer_for_another_bucket(aws_env, settings) -> None:
    store = open_store(settings, FAKE_CREDENTIALS)
    assert store.writer is not None
    with pytest.raises(ValueError, match="a writer for bucket"):
        dataclasses.replace(store, links=None, bucket="another-bucket")
    store.close()
