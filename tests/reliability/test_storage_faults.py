"""S3 unreachable, stalled, slow, refusing writes or misconfigured: every prediction is still
answered 200 (digit and probabilities, feature maps absent, a warning saying why) within the
function's timeout, and nothing of a failed prediction is left in the bucket.

Requests go through the Lambda handler in this process (API Gateway HTTP API events), S3 is
moto's server on loopback, behind the fault. Short S3 timeouts keep the suite quick; the full
run (``make reliability``) adds the slow case at the shipped defaults.
"""

from __future__ import annotations

import base64
import io
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest
from PIL import Image

from recognizer import handler as lambda_module
from recognizer.api.deps import get_recognizer
from recognizer.networks import Networks
from recognizer.service import Recognizer
from recognizer.settings import Settings
from recognizer.storage import Credentials, open_store
from tests.conftest import FAKE_CREDENTIALS, http_api_event, multipart_body, without_aws_credentials
from tests.reliability.faults import S3Proxy, SilentServer, closed_port_endpoint
from tests.reliability.scale import current_scale

SCALE = current_scale()
TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
FAST_TIMEOUT_SECONDS, FAST_ATTEMPTS = 1, 2
RESULTS: dict[str, dict] = {}


def function_timeout_seconds() -> float:
    """The Lambda function's Timeout in template.yaml (15 s when it cannot be read)."""
    found = re.search(r"^\s+Timeout:\s*(\d+)\s*$", TEMPLATE.read_text(), re.MULTILINE) if TEMPLATE.exists() else None
    return float(found.group(1)) if found else 15.0


@dataclass
class Bench:
    """The maps bucket on moto's server, seen directly (never through the fault), and the
    Lambda handler's app answering with a recognizer whose store ``use`` sets up."""

    settings: Settings
    networks: Networks
    endpoint: str
    admin: object
    monkeypatch: pytest.MonkeyPatch
    current: Recognizer | None = None
    closing: list[Callable[[], None]] = field(default_factory=list)  # run once the test is over

    @property
    def bucket(self) -> str:
        return self.settings.maps_bucket

    def keys(self, prefix: str = "predictions/") -> list[str]:
        listing = self.admin.list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def use(self, credentials: Credentials | None = FAKE_CREDENTIALS, **changes: object) -> Recognizer:
        """The handler answers with a recognizer storing as ``changes`` (Settings fields) say,
        with ``credentials`` (None: boto3's own chain, from the environment)."""
        settings = self.settings.model_copy(update=changes)
        self.current = Recognizer(settings, self.networks, open_store(settings, credentials))
        recognizer = self.current
        lambda_module.app.dependency_overrides[get_recognizer] = lambda: recognizer
        return recognizer

    @property
    def client(self):
        """The S3 client the handler's recognizer stores with."""
        assert self.current is not None and self.current.store is not None
        return self.current.store.client


@pytest.fixture
def bench(
    aws_env: None, settings: Settings, networks: Networks, moto_server_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Bench]:
    admin = boto3.client("s3", endpoint_url=moto_server_endpoint, region_name="us-east-1")
    admin.create_bucket(Bucket=settings.maps_bucket)
    fast = settings.model_copy(
        update={
            "s3_endpoint_url": moto_server_endpoint,
            "storage_timeout_seconds": FAST_TIMEOUT_SECONDS,
            "storage_max_attempts": FAST_ATTEMPTS,
        }
    )
    bench = Bench(fast, networks, moto_server_endpoint, admin, monkeypatch)
    bench.use()
    yield bench
    lambda_module.app.dependency_overrides.clear()
    for close in bench.closing:
        close()


@pytest.fixture(scope="module", autouse=True)
def record_results(figures):
    yield
    figures.setdefault("storage_faults", {}).update(RESULTS)


def invoke(
    path: str, body: bytes, content_type: str, lambda_context, query: dict | None = None
) -> tuple[int, dict, float]:
    event = http_api_event("POST", path, body=body, headers={"content-type": content_type}, query=query)
    started = time.perf_counter()
    response = lambda_module.handler(event, lambda_context)
    elapsed = time.perf_counter() - started
    text = base64.b64decode(response["body"]) if response.get("isBase64Encoded") else response["body"]
    return response["statusCode"], json.loads(text), elapsed


# --- the faults: each sets S3 up to fail and names the reason the warning must give ---------


@contextmanager
def unreachable(bench: Bench) -> Iterator[None]:
    bench.use(s3_endpoint_url=closed_port_endpoint())
    yield


@contextmanager
def stalled(bench: Bench) -> Iterator[None]:
    server = SilentServer()
    bench.use(s3_endpoint_url=server.endpoint)
    try:
        yield
    finally:
        server.stop()


def slow_with(timeout: int, attempts: int) -> Callable[[Bench], object]:
    @contextmanager
    def slow(bench: Bench) -> Iterator[None]:
        proxy = S3Proxy(bench.endpoint, delay=timeout + 0.5)
        bench.use(s3_endpoint_url=proxy.endpoint, storage_timeout_seconds=timeout, storage_max_attempts=attempts)
        try:
            yield
            # Every delayed write (and the cleanup's delete after them) reaches the bucket
            # before the bucket is looked at.
            assert proxy.wait_until_idle(timeout=4 * (timeout + 1) * attempts + 10)
        finally:
            proxy.stop()

    return slow


@contextmanager
def policy_denies_writes(bench: Bench) -> Iterator[None]:
    bench.admin.put_bucket_policy(
        Bucket=bench.bucket,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:PutObject",
                        "Resource": f"arn:aws:s3:::{bench.bucket}/*",
                    }
                ],
            }
        ),
    )
    try:
        yield
    finally:
        bench.admin.delete_bucket_policy(Bucket=bench.bucket)


@contextmanager
def bucket_missing(bench: Bench) -> Iterator[None]:
    bench.use(maps_bucket=f"{bench.bucket}-gone")
    yield


@contextmanager
def second_put_denied(bench: Bench) -> Iterator[None]:
    """The second PUT refused; the store keeps its proxy afterwards (later PUTs pass), so a test
    can see the same store recover."""
    refuser = S3Proxy(bench.endpoint, refuse_puts=frozenset({2}))
    bench.closing.append(refuser.stop)
    bench.use(s3_endpoint_url=refuser.endpoint)
    yield
    assert refuser.puts == 3  # two landed, one refused: the half set the cleanup must remove


@contextmanager
def no_credentials(bench: Bench) -> Iterator[None]:
    without_aws_credentials(bench.monkeypatch)
    bench.use(credentials=None)
    yield


FAULTS: dict[str, tuple[Callable, str]] = {
    "S3 unreachable (closed port)": (unreachable, r"EndpointConnectionError|ConnectionClosedError|ConnectTimeout"),
    "S3 stalled (never answers)": (stalled, r"ReadTimeout|ConnectTimeout"),
    "S3 slow (answers after the timeout; writes land late)": (
        slow_with(FAST_TIMEOUT_SECONDS, FAST_ATTEMPTS),
        r"ReadTimeout",
    ),
    "bucket policy denies PutObject": (policy_denies_writes, r"AccessDenied|403|Forbidden"),
    "bucket missing": (bucket_missing, r"NoSuchBucket"),
    "AccessDenied on the 2nd of 3 uploads": (second_put_denied, r"AccessDenied"),
    "no credentials": (no_credentials, r"NoCredentialsError|misconfigured"),
}
if SCALE.full:
    defaults = Settings()
    FAULTS[
        f"S3 slow, at the defaults ({defaults.storage_timeout_seconds} s x {defaults.storage_max_attempts} attempts)"
    ] = (slow_with(defaults.storage_timeout_seconds, defaults.storage_max_attempts), r"ReadTimeout")


def assert_answered_without_maps(status: int, answer: dict, reason: str) -> str:
    assert status == 200, answer
    assert 0 <= answer["predicted_digit"] <= 9 and len(answer["probabilities"]) == 10
    assert answer["input_url"] is None and answer["feature_maps"] is None, answer
    warning = " ".join(answer["warnings"])
    assert re.search(reason, warning), f"the warning does not say why: {answer['warnings']}"
    return warning


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_prediction_is_answered_without_maps_and_leaves_nothing(fault, bench, digit_png, lambda_context) -> None:
    make_fault, reason = FAULTS[fault]
    body, content_type = multipart_body({"image": ("seven.png", digit_png(7), "image/png")})
    with make_fault(bench):
        status, answer, elapsed = invoke("/api/predict", body, content_type, lambda_context)
    RESULTS[fault] = {
        "status": status,
        "seconds": round(elapsed, 2),
        "warnings": answer.get("warnings"),
        "left_in_bucket": None,
        "survived": False,
    }
    warning = assert_answered_without_maps(status, answer, reason)
    assert answer["predicted_digit"] == 7
    assert elapsed < function_timeout_seconds(), f"{elapsed:.1f} s: Lambda would have cut it off"
    left = bench.keys(f"predictions/{answer['prediction_id']}/")
    RESULTS[fault].update(left_in_bucket=len(left), survived=not left, warnings=[warning])
    assert left == [], f"half-written files left behind: {left}"


def test_a_batch_keeps_the_good_predictions_when_one_upload_is_refused(bench, digit_png, lambda_context) -> None:
    boundary = "rel-batch"  # two files under one field name: written by hand
    parts = (
        b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="images"; filename="{name}"\r\n'
            f"Content-Type: image/png\r\n\r\n".encode()
            + digit_png(digit)
            + b"\r\n"
            for name, digit in (("four.png", 4), ("nine.png", 9))
        )
        + f"--{boundary}--\r\n".encode()
    )
    refuser = S3Proxy(bench.endpoint, refuse_puts=frozenset({2}))
    bench.closing.append(refuser.stop)
    bench.use(s3_endpoint_url=refuser.endpoint)
    status, answer, elapsed = invoke(
        "/api/predict/batch", parts, f"multipart/form-data; boundary={boundary}", lambda_context
    )
    assert refuser.puts == 6
    assert status == 200, answer
    results = answer["results"]
    assert [r["predicted_digit"] for r in results] == [4, 9]
    spoilt = [r for r in results if r["warnings"]]
    kept = [r for r in results if not r["warnings"]]
    assert len(spoilt) == 1 and len(kept) == 1, results
    assert spoilt[0]["feature_maps"] is None and "AccessDenied" in " ".join(spoilt[0]["warnings"])
    assert bench.keys(f"predictions/{spoilt[0]['prediction_id']}/") == []
    assert len(bench.keys(f"predictions/{kept[0]['prediction_id']}/")) == 3
    RESULTS["batch: one of two predictions refused"] = {
        "status": status,
        "seconds": round(elapsed, 2),
        "left_in_bucket": 0,
        "survived": True,
    }


def test_a_row_of_digits_with_feature_maps_is_answered_when_the_bucket_is_missing(
    bench, digit_png, lambda_context
) -> None:
    left, right = (Image.open(io.BytesIO(digit_png(d))) for d in (3, 8))
    row = Image.new("L", (left.width + right.width + 40, left.height), 255)
    row.paste(left, (0, 0))
    row.paste(right, (left.width + 40, 0))
    buffer = io.BytesIO()
    row.save(buffer, format="PNG")
    body, content_type = multipart_body({"image": ("row.png", buffer.getvalue(), "image/png")})
    with bucket_missing(bench):
        status, answer, elapsed = invoke(
            "/api/predict/multi", body, content_type, lambda_context, query={"feature_maps": "true"}
        )
    assert status == 200, answer
    assert answer["digits"] and "NoSuchBucket" in " ".join(answer["warnings"]), answer
    assert all(digit.get("feature_maps") is None for digit in answer["digits"])
    RESULTS["row of digits with feature maps: bucket missing"] = {
        "status": status,
        "seconds": round(elapsed, 2),
        "left_in_bucket": 0,
        "survived": True,
    }


def test_storage_recovers_once_the_fault_is_gone(bench, digit_png, lambda_context) -> None:
    body, content_type = multipart_body({"image": ("two.png", digit_png(2), "image/png")})
    with second_put_denied(bench):
        status, answer, _ = invoke("/api/predict", body, content_type, lambda_context)
        assert status == 200 and answer["warnings"]
    status, answer, _ = invoke("/api/predict", body, content_type, lambda_context)
    assert status == 200 and answer["warnings"] == [] and answer["feature_maps"] is not None
    assert len(bench.keys(f"predictions/{answer['prediction_id']}/")) == 3
